"""Raw HTTP for the Shadeform API (https://api.shadeform.ai/v1, OpenAPI in shadeform/docs). No logic.

Auth is an ``X-API-KEY`` header. Instances: ``GET /instances`` (``{"instances": [...]}``),
``GET /instances/{id}/info``, ``POST /instances/create`` (answers ``{"id"}`` at once; the launch
on the underlying cloud runs after), ``POST /instances/{id}/restart|delete``. SSH keys:
``GET /sshkeys``, ``POST /sshkeys/add``. Errors are ``{"message": ...}`` (401 documented) or
``{"error": ...}``, with no machine-readable code.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from providers.errors import BadResponse, InvalidRequest, NotFound, ProviderError
from providers.http import refusal_by_words, request_json

BASE_URL = "https://api.shadeform.ai/v1"
NAME = "shadeform"

# No code tells "out of capacity" (the quickstart's wording) or "wallet empty" apart from another
# refusal: for a refused create only, the words decide (kept narrow).
_CAPACITY_HINTS = ("out of capacity", "no capacity", "insufficient capacity", "not available", "unavailable")
_QUOTA_HINTS = ("insufficient funds", "balance", "wallet", "quota", "limit")


def message_of(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("message", "error", "detail"):
            if isinstance(body.get(key), str):
                return body[key]
    return ""


def _refused_create(response: httpx.Response, body: Any) -> ProviderError | None:
    return refusal_by_words(response, message_of(body), NAME, quota_hints=_QUOTA_HINTS, capacity_hints=_CAPACITY_HINTS)


class ShadeformClient:
    def __init__(self, http: httpx.AsyncClient, api_key: str) -> None:
        self._http = http
        self._headers = {"X-API-KEY": api_key}

    async def _call(self, method: str, path: str, mapper=None, **kw: Any) -> Any:
        return await request_json(
            self._http, method, f"{BASE_URL}{path}", provider=NAME, headers=self._headers, mapper=mapper, **kw,
        )

    async def _list(self, path: str, key: str, **kw: Any) -> list:
        body = await self._call("GET", path, **kw)
        if not isinstance(body, dict) or not isinstance(body.get(key), list):
            detail = message_of(body)  # e.g. {"error": "..."} behind a 200
            raise BadResponse(f"response has no `{key}` list" + (f": {detail}" if detail else ""), provider=NAME)
        return body[key]

    async def _object(self, method: str, path: str, **kw: Any) -> dict:
        body = await self._call(method, path, **kw)
        if not isinstance(body, dict):
            raise BadResponse(f"{method} {path}: expected an object", provider=NAME)
        return body

    async def instance_types(self, **filters: str) -> list:
        return await self._list("/instances/types", "instance_types", params=filters or None)

    async def instances(self) -> list:
        return await self._list("/instances", "instances")

    async def instance(self, instance_id: str) -> dict:
        return await self._object("GET", f"/instances/{_segment(instance_id)}/info")

    async def create_instance(self, payload: dict[str, Any]) -> dict:
        try:
            return await self._object("POST", "/instances/create", mapper=_refused_create, json=payload)
        except NotFound as exc:
            # On create a 404 names our input (instance type, region, key): a refused request.
            raise InvalidRequest(exc.message, provider=NAME, status_code=exc.status_code) from exc

    async def delete_instance(self, instance_id: str) -> None:
        await self._call("POST", f"/instances/{_segment(instance_id)}/delete")

    async def restart_instance(self, instance_id: str) -> None:
        await self._call("POST", f"/instances/{_segment(instance_id)}/restart")

    async def ssh_keys(self) -> list:
        return await self._list("/sshkeys", "ssh_keys")

    async def add_ssh_key(self, name: str, public_key: str) -> dict:
        return await self._object("POST", "/sshkeys/add", json={"name": name, "public_key": public_key})


def _segment(value: str) -> str:
    return quote(value, safe="")
