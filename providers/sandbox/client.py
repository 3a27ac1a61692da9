"""Raw HTTP for the sandbox REST API (see ``server.py``). No business logic here."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from providers.errors import (
    InvalidCredentials,
    InvalidRequest,
    NoCapacity,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    QuotaExceeded,
    RateLimited,
)
from providers.http import parse_retry_after, request_json

NAME = "sandbox"

# The sandbox's error codes -> our types. Branch on `code`, never on `message`.
_ERROR_CODES: dict[str, type[ProviderError]] = {
    "invalid_api_key": InvalidCredentials,
    "no_capacity": NoCapacity,
    "quota_exceeded": QuotaExceeded,
    "invalid_state": InvalidRequest,
    "invalid_request": InvalidRequest,
    "not_found": NotFound,
    "internal_error": ProviderUnavailable,
}


def _error_from_envelope(response: httpx.Response, body: Any) -> ProviderError | None:
    error = body.get("error") if isinstance(body, dict) else None
    code = str(error.get("code", "")) if isinstance(error, dict) else ""
    message = str(error.get("message", "")) if isinstance(error, dict) else ""
    kw = {"provider": NAME, "status_code": response.status_code}
    if response.status_code == 429:
        return RateLimited(f"rate limited: {message or 'slow down'}",
                           retry_after=parse_retry_after(response.headers.get("Retry-After")), **kw)
    cls = _ERROR_CODES.get(code)
    if cls is None:
        return None  # fall back to the status code (e.g. a 502 from something in between)
    return cls(f"{message} ({code})", **kw)


class SandboxClient:
    def __init__(self, http: httpx.AsyncClient, api_key: str, base_url: str) -> None:
        self._http = http
        self._base_url = base_url
        self._headers = {"Authorization": f"Bearer {api_key}"}

    async def _call(self, method: str, path: str, *, auth: bool = True, **kw: Any) -> Any:
        return await request_json(
            self._http, method, f"{self._base_url}{path}", provider=NAME, mapper=_error_from_envelope,
            headers=self._headers if auth else {}, **kw,
        )

    async def offers(self) -> Any:
        return await self._call("GET", "/offers", auth=False)  # public, like a pricing page

    async def list_instances(self) -> Any:
        return await self._call("GET", "/instances")

    async def get_instance(self, instance_id: str) -> Any:
        return await self._call("GET", f"/instances/{quote(instance_id, safe='')}")

    async def health(self, instance_id: str) -> Any:
        return await self._call("GET", f"/instances/{quote(instance_id, safe='')}/health")

    async def create_instance(self, body: dict[str, Any]) -> Any:
        return await self._call("POST", "/instances", json=body)

    async def action(self, instance_id: str, action: str) -> Any:
        return await self._call("POST", f"/instances/{quote(instance_id, safe='')}/actions/{action}")

    async def delete_instance(self, instance_id: str) -> Any:
        return await self._call("DELETE", f"/instances/{quote(instance_id, safe='')}")
