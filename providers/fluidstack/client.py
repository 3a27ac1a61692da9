"""Raw HTTP for FluidStack's legacy platform API (https://platform.fluidstack.io). No business logic.

Auth is an ``api-key`` header. Instances: ``GET/POST /instances``, ``GET/DELETE /instances/{id}``,
``PUT /instances/{id}/start|stop``; SSH keys: ``GET/POST /ssh_keys``. Errors are FastAPI-style
``{"detail": ...}`` (or ``{"error": ...}``) with no machine-readable code.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from providers.errors import BadResponse, InvalidRequest, NotFound, ProviderError
from providers.http import refusal_by_words, request_json

BASE_URL = "https://platform.fluidstack.io"
NAME = "fluidstack"

# No code tells "sold out" or "over a limit" apart from another refusal: for a refused create
# only, the words decide (kept narrow).
_CAPACITY_HINTS = ("out of stock", "no capacity", "not enough", "insufficient capacity", "unavailable")
_QUOTA_HINTS = ("quota", "limit", "balance", "credit")


def _detail(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("detail", "error", "message"):
            if isinstance(body.get(key), str):
                return body[key]
    return ""


def _refused_create(response: httpx.Response, body: Any) -> ProviderError | None:
    return refusal_by_words(response, _detail(body), NAME, quota_hints=_QUOTA_HINTS, capacity_hints=_CAPACITY_HINTS)


class FluidStackClient:
    def __init__(self, http: httpx.AsyncClient, api_key: str) -> None:
        self._http = http
        self._headers = {"api-key": api_key}

    async def _call(self, method: str, path: str, mapper=None, **kw: Any) -> Any:
        return await request_json(
            self._http, method, f"{BASE_URL}{path}", provider=NAME, headers=self._headers, mapper=mapper, **kw,
        )

    async def _list(self, path: str, what: str) -> list:
        body = await self._call("GET", path)
        if not isinstance(body, list):  # e.g. {"detail": "..."} behind a 200
            detail = _detail(body)
            raise BadResponse(f"expected a list of {what}" + (f": {detail}" if detail else ""), provider=NAME)
        return body

    async def _object(self, method: str, path: str, **kw: Any) -> dict:
        body = await self._call(method, path, **kw)
        if not isinstance(body, dict):
            raise BadResponse(f"{method} {path}: expected an object", provider=NAME)
        return body

    async def configurations(self) -> list:
        return await self._list("/list_available_configurations", "configurations")

    async def instances(self) -> list:
        return await self._list("/instances", "instances")

    async def instance(self, instance_id: str) -> dict:
        return await self._object("GET", f"/instances/{_segment(instance_id)}")

    async def create_instance(self, payload: dict[str, Any]) -> dict:
        try:
            return await self._object("POST", "/instances", mapper=_refused_create, json=payload)
        except NotFound as exc:
            # On create a 404 names our input (GPU type, region, key): a refused request.
            raise InvalidRequest(exc.message, provider=NAME, status_code=exc.status_code) from exc

    async def delete_instance(self, instance_id: str) -> None:
        await self._call("DELETE", f"/instances/{_segment(instance_id)}")

    async def instance_action(self, instance_id: str, action: str) -> None:
        """`start` or `stop` (PUT)."""
        await self._call("PUT", f"/instances/{_segment(instance_id)}/{action}")

    async def ssh_keys(self) -> list:
        return await self._list("/ssh_keys", "SSH keys")

    async def add_ssh_key(self, name: str, public_key: str) -> Any:
        return await self._call("POST", "/ssh_keys", json={"name": name, "public_key": public_key})


def _segment(value: str) -> str:
    return quote(value, safe="")
