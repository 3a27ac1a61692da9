"""The simulated GPU cloud as a REST API (a small Litestar app), served in-process.

The ``sandbox`` provider reaches it through ``httpx`` exactly like a real cloud (same
``request_json``, same error mapping, same timeouts); only the transport is in-process.

REST API (JSON; errors are ``{"error": {"code": "...", "message": "..."}}``)::

    GET    /v1/offers                           public: {"data": [offer, ...]}
    GET    /v1/instances                        {"data": [instance, ...]}
    GET    /v1/instances/{id}                   instance | 404 not_found
    POST   /v1/instances                        201 instance (200: same client_token seen before)
           {name, instance_type, region, image?, disk_gb?, ssh_public_key?, spot?, client_token?}
           400 invalid_request | 403 quota_exceeded | 409 no_capacity
    GET    /v1/instances/{id}/health            {healthy: bool, detail} (simulated; fault health_failing)
    POST   /v1/instances/{id}/actions/{start|stop|reboot}
                                                202 instance | 409 invalid_state | 404 not_found
    DELETE /v1/instances/{id}                   202 instance (terminating) | 204 already terminated
                                                | 404 not_found (unknown, or gone after retention)
    GET    /v1/faults, PUT /v1/faults           the account's injected faults (see ``Faults``)

Every call but ``/v1/offers`` needs ``Authorization: Bearer sbx_...`` (401 invalid_api_key);
each key is its own account. Injected faults (latency, 429, 500) apply to every
authenticated call except ``/v1/faults``, so a demo can always switch them off again.

An instance: ``{id, name, status, status_since, instance_type, region, image, disk_gb, spot,
gpu: {name, count, memory_gb}, price_per_hour: "2.49", currency, public_ip, created_at,
tags: {client_token}}``; statuses are ``cloud.RAW_STATUSES``.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from typing import Any

import httpx
from litestar import Litestar, Request, Response, delete, get, post, put
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.params import FromPath

from providers.http import DEFAULT_TIMEOUT, new_client
from providers.sandbox.cloud import ApiError, Faults, SandboxCloud, get_cloud

__all__ = ["BASE_URL", "SandboxCloud", "create_app", "get_cloud", "in_process_client"]

# A reserved TLD: if a client ever bypasses the in-process transport, it cannot reach anything.
BASE_URL = "https://api.sandbox.computehub.invalid/v1"


def _cloud(request: Request) -> SandboxCloud:
    return request.app.state.cloud


def _api_key(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def _run(method, *args):
    """A cloud call in a worker thread: with the database store it waits on the database."""
    return await asyncio.to_thread(method, *args)


async def _authorized_call(request: Request) -> str:
    """Authenticate, then apply the account's per-call faults. Returns the key."""
    cloud, key = _cloud(request), _api_key(request)
    latency, error = await _run(cloud.call_faults, key)  # raises 401 first for a bad key
    if latency:
        await asyncio.sleep(latency)
    if error is not None:
        raise error
    return key


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw else None
    except ValueError as exc:
        raise ApiError(400, "invalid_request", "the body is not valid JSON") from exc


@get("/v1/offers")
async def list_offers(request: Request) -> dict:
    return {"data": _cloud(request).offers()}


@get("/v1/instances")
async def list_instances(request: Request) -> dict:
    key = await _authorized_call(request)
    return {"data": await _run(_cloud(request).list_instances, key)}


@get("/v1/instances/{instance_id:str}")
async def get_instance(request: Request, instance_id: FromPath[str]) -> dict:
    key = await _authorized_call(request)
    return await _run(_cloud(request).get_instance, key, instance_id)


@get("/v1/instances/{instance_id:str}/health")
async def instance_health(request: Request, instance_id: FromPath[str]) -> dict:
    key = await _authorized_call(request)
    return await _run(_cloud(request).health, key, instance_id)


@post("/v1/instances")
async def create_instance(request: Request) -> Response:
    key = await _authorized_call(request)
    instance, created = await _run(_cloud(request).create_instance, key, await _json_body(request))
    # Stored and committed already: a client that dies while this sleeps never hears of it.
    after = (await _run(_cloud(request).faults, key)).latency_after_create_seconds
    if after:
        await asyncio.sleep(after)
    return Response(instance, status_code=201 if created else 200)


@post("/v1/instances/{instance_id:str}/actions/{action:str}")
async def instance_action(request: Request, instance_id: FromPath[str], action: FromPath[str]) -> Response:
    key = await _authorized_call(request)
    return Response(await _run(_cloud(request).act, key, instance_id, action), status_code=202)


@delete("/v1/instances/{instance_id:str}", status_code=202)
async def delete_instance(request: Request, instance_id: FromPath[str]) -> Response:
    key = await _authorized_call(request)
    cloud = _cloud(request)
    if not await _run(cloud.delete_instance, key, instance_id):
        return Response(None, status_code=204)
    return Response(await _run(cloud.get_instance, key, instance_id), status_code=202)


@get("/v1/faults")
async def read_faults(request: Request) -> dict:
    return (await _run(_cloud(request).faults, _api_key(request))).to_json()


@put("/v1/faults")
async def replace_faults(request: Request) -> dict:
    cloud, key = _cloud(request), _api_key(request)
    await _run(cloud.faults, key)  # 401 before looking at the body
    try:
        faults = Faults.from_json(await _json_body(request))
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "invalid_request", str(exc)) from exc
    return (await _run(cloud.set_faults, key, faults)).to_json()


def _api_error(_: Request, exc: ApiError) -> Response:
    return Response(exc.body(), status_code=exc.status, headers=exc.headers)


def _http_error(_: Request, exc: HTTPException) -> Response:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request")
    return Response({"error": {"code": code, "message": str(exc.detail)}}, status_code=exc.status_code)


def create_app(cloud: SandboxCloud) -> Litestar:
    """The ASGI app for one cloud (mountable into the web app for a demo)."""
    app = Litestar(
        route_handlers=[list_offers, list_instances, get_instance, instance_health, create_instance, instance_action,
                        delete_instance, read_faults, replace_faults],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
        openapi_config=None,
        state=State({"cloud": cloud}),
        # Litestar's default logging config would replace the host process's log format on first use.
        logging_config=None,
    )
    return app


_apps: weakref.WeakKeyDictionary[SandboxCloud, Litestar] = weakref.WeakKeyDictionary()


def _app_for(cloud: SandboxCloud) -> Litestar:
    if cloud not in _apps:
        _apps[cloud] = create_app(cloud)
    return _apps[cloud]


class InProcessTransport(httpx.ASGITransport):
    """ASGI transport that honours the client's read timeout, as a network would."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {}).get("read")
        try:
            return await asyncio.wait_for(super().handle_async_request(request), timeout)
        except TimeoutError as exc:
            raise httpx.ReadTimeout("the sandbox did not answer in time", request=request) from exc


def in_process_client(cloud: SandboxCloud | None = None,
                      timeout: float | httpx.Timeout = DEFAULT_TIMEOUT) -> httpx.AsyncClient:
    """An httpx client whose requests to ``BASE_URL`` are served by ``cloud`` in this process."""
    return new_client(timeout=timeout, transport=InProcessTransport(app=_app_for(cloud or get_cloud())))
