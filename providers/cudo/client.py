"""Raw HTTP for the CUDO Compute REST API (https://rest.compute.cudo.org/v1). No business logic here.

The machine-type catalogue is readable without a key; a Bearer key is sent when one is set.
VMs live in a project: ``POST /projects/{p}/vm`` creates, ``/projects/{p}/vms[/{id}]`` reads, and
``POST /projects/{p}/vms/{id}/start|stop|reboot|terminate`` acts.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from providers.errors import (
    BadResponse,
    InvalidCredentials,
    InvalidRequest,
    NoCapacity,
    NotFound,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    QuotaExceeded,
)
from providers.http import request_json

BASE_URL = "https://rest.compute.cudo.org/v1"
NAME = "cudo"

# gRPC-gateway errors carry the gRPC status code: branch on it, never on `message`.
_GRPC_CODES: dict[int, type[ProviderError]] = {
    3: InvalidRequest,  # INVALID_ARGUMENT
    4: ProviderTimeout,  # DEADLINE_EXCEEDED
    5: NotFound,  # NOT_FOUND
    7: InvalidCredentials,  # PERMISSION_DENIED
    8: QuotaExceeded,  # RESOURCE_EXHAUSTED (see the 429 case below)
    9: InvalidRequest,  # FAILED_PRECONDITION
    13: ProviderUnavailable,  # INTERNAL
    14: ProviderUnavailable,  # UNAVAILABLE
    16: InvalidCredentials,  # UNAUTHENTICATED
}


# CUDO answers "sold out" as INVALID_ARGUMENT ("There are no hosts available for your specified
# virtual machine"): no code tells it apart from a bad argument, so for code 3 the words decide.
_CAPACITY_HINTS = ("no hosts available", "not enough capacity", "insufficient capacity")


def _error_from_envelope(response: httpx.Response, body: Any) -> ProviderError | None:
    if not isinstance(body, dict) or not isinstance(body.get("code"), int):
        return None
    if response.status_code == 429:
        # gRPC RESOURCE_EXHAUSTED becomes HTTP 429 both for a request rate and for an account
        # limit. A rate limit says when to come back (Retry-After, left to the shared layer);
        # without one, waiting does not help: it is a quota.
        if body["code"] != 8 or "Retry-After" in response.headers:
            return None
        return QuotaExceeded(f"{body.get('message') or 'resource exhausted'} (gRPC code 8)",
                             provider=NAME, status_code=429)
    cls = _GRPC_CODES.get(body["code"])
    if cls is None:
        return None
    if body["code"] == 3 and any(hint in str(body.get("message", "")).lower() for hint in _CAPACITY_HINTS):
        cls = NoCapacity
    message = str(body.get("message") or "request failed")
    return cls(f"{message} (gRPC code {body['code']})", provider=NAME, status_code=response.status_code)


class CudoClient:
    def __init__(self, http: httpx.AsyncClient, api_key: str = "") -> None:
        self._http = http
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def _call(self, method: str, path: str, **kw: Any) -> Any:
        return await request_json(
            self._http, method, f"{BASE_URL}{path}", provider=NAME,
            mapper=_error_from_envelope, headers=self._headers, **kw,
        )

    async def machine_types(self) -> list:
        body = await self._call("GET", "/vms/machine-types")
        if not isinstance(body, dict) or not isinstance(body.get("machineTypes"), list):
            # e.g. an error envelope behind a proxy that answered 200
            mapped = _error_from_envelope(httpx.Response(200), body)
            raise mapped or BadResponse("response has no `machineTypes` list", provider=NAME)
        return body["machineTypes"]

    async def _object(self, method: str, path: str, key: str | None = None, **kw: Any) -> Any:
        body = await self._call(method, path, **kw)
        # An error envelope behind a proxy that answered 200 must not read as "no VMs".
        mapped = _error_from_envelope(httpx.Response(200), body) if isinstance(body, dict) and "message" in body else None
        if mapped is not None:
            raise mapped
        if not isinstance(body, dict) or (key is not None and not isinstance(body.get(key), dict)):
            raise BadResponse(f"response has no `{key}` object" if key else "response is not an object", provider=NAME)
        return body if key is None else body[key]

    async def project(self, project_id: str) -> Any:
        return await self._object("GET", f"/projects/{_segment(project_id)}")

    async def vms(self, project_id: str) -> list:
        # gRPC-gateway omits an empty repeated field, so an empty project answers `{}`.
        body = await self._object("GET", f"/projects/{_segment(project_id)}/vms")
        vms = body.get("VMs", [])
        if not isinstance(vms, list):
            raise BadResponse("`VMs` is not a list", provider=NAME)
        return vms

    async def vm(self, project_id: str, vm_id: str) -> Any:
        return await self._object("GET", f"/projects/{_segment(project_id)}/vms/{_segment(vm_id)}", "VM")

    async def create_vm(self, project_id: str, payload: dict[str, Any]) -> Any:
        try:
            return await self._object("POST", f"/projects/{_segment(project_id)}/vm", json=payload)
        except NotFound as exc:
            # On create NOT_FOUND names our input (data center, machine type, image): a refused request.
            raise InvalidRequest(exc.message, provider=NAME, status_code=exc.status_code) from exc

    async def vm_action(self, project_id: str, vm_id: str, action: str) -> None:
        """`start`, `stop`, `reboot` or `terminate` (POST with an empty body)."""
        await self._call("POST", f"/projects/{_segment(project_id)}/vms/{_segment(vm_id)}/{action}", json={})


def _segment(value: str) -> str:
    """A path segment from user input: quoted, so an id can never reach another path."""
    return quote(value, safe="")
