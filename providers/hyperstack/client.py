"""Raw HTTP for the Hyperstack (NexGen Cloud Infrahub) API. No business logic here.

Auth is an ``api_key`` header, not Bearer. Instance calls (``/core/virtual-machines``,
state changes via GET) will be added here with the console.
"""

from __future__ import annotations

from typing import Any

import httpx

from providers.errors import BadResponse, InvalidCredentials, InvalidRequest, NotFound, ProviderError
from providers.http import request_json

BASE_URL = "https://infrahub-api.nexgencloud.com/v1"
NAME = "hyperstack"

# The envelope {"status": false, "message", "error_reason"} has no machine-readable code,
# so the HTTP status picks the type and the envelope only supplies the words.
_STATUS_TYPES: dict[int, type[ProviderError]] = {
    401: InvalidCredentials,
    403: InvalidCredentials,
    404: NotFound,
}


def _is_failure(body: Any) -> bool:
    return isinstance(body, dict) and body.get("status") is False


def _failure_message(body: dict) -> str:
    message = str(body.get("message") or "request failed")
    reason = body.get("error_reason")
    return f"{message} ({reason})" if reason and reason != message else message


def _error_from_envelope(response: httpx.Response, body: Any) -> ProviderError | None:
    status = response.status_code
    if not _is_failure(body) or status == 429 or status >= 500:
        return None  # the shared layer owns Retry-After and outages
    message = _failure_message(body)
    if response.is_success:
        return BadResponse(f"failure envelope behind HTTP {status}: {message}", provider=NAME, status_code=status)
    cls = _STATUS_TYPES.get(status, InvalidRequest)
    return cls(message, provider=NAME, status_code=status)


class HyperstackClient:
    def __init__(self, http: httpx.AsyncClient, api_key: str) -> None:
        self._http = http
        self._headers = {"api_key": api_key}

    async def _call(self, method: str, path: str, **kw: Any) -> Any:
        body = await request_json(
            self._http, method, f"{BASE_URL}{path}", provider=NAME,
            mapper=_error_from_envelope, headers=self._headers, **kw,
        )
        # request_json maps only non-2xx bodies; a 200 can still carry `status: false`.
        mapped = _error_from_envelope(httpx.Response(200), body)
        if mapped is not None:
            raise mapped
        return body

    async def flavors(self) -> list:
        body = await self._call("GET", "/core/flavors")
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise BadResponse("flavors response has no `data` list", provider=NAME)
        return body["data"]

    async def pricebook(self) -> list:
        body = await self._call("GET", "/pricebook")
        if not isinstance(body, list):  # documented as a bare array
            raise BadResponse("pricebook response is not a list", provider=NAME)
        return body
