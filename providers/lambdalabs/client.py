"""Raw HTTP for the Lambda Cloud API (https://cloud.lambda.ai/api/v1). No business logic here."""

from __future__ import annotations

from typing import Any

import httpx

from providers.errors import (
    BadResponse,
    InvalidCredentials,
    InvalidRequest,
    NoCapacity,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    QuotaExceeded,
)
from providers.http import request_json

BASE_URL = "https://cloud.lambda.ai/api/v1"
NAME = "lambdalabs"

# Lambda's documented error codes -> our types. Branch on `code`, never on `message`.
_ERROR_CODES: dict[str, type[ProviderError]] = {
    "global/invalid-api-key": InvalidCredentials,
    "global/account-inactive": InvalidCredentials,
    "global/forbidden": InvalidCredentials,
    "global/invalid-parameters": InvalidRequest,
    "global/object-does-not-exist": NotFound,
    "global/not-found": NotFound,
    "global/quota-exceeded": QuotaExceeded,
    "instance-operations/launch/insufficient-capacity": NoCapacity,
    "global/internal-error": ProviderUnavailable,
}


def _error_from_envelope(response: httpx.Response, body: Any) -> ProviderError | None:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or response.status_code == 429:
        return None
    code = str(error.get("code", ""))
    message = str(error.get("message", "")) or code
    if code.startswith("provider/"):
        return ProviderUnavailable(f"upstream failure ({code}): {message}", provider=NAME,
                                   status_code=response.status_code)
    cls = _ERROR_CODES.get(code)
    if cls is None:
        return None
    return cls(f"{message} ({code})", provider=NAME, status_code=response.status_code)


class LambdaClient:
    def __init__(self, http: httpx.AsyncClient, api_key: str) -> None:
        self._http = http
        self._headers = {"Authorization": f"Bearer {api_key}"}

    async def _call(self, method: str, path: str, **kw: Any) -> Any:
        body = await request_json(
            self._http, method, f"{BASE_URL}{path}", provider=NAME,
            mapper=_error_from_envelope, headers=self._headers, **kw,
        )
        if not isinstance(body, dict) or "data" not in body:
            # e.g. an error envelope behind a proxy that answered 200
            mapped = _error_from_envelope(httpx.Response(200), body) if isinstance(body, dict) else None
            raise mapped or BadResponse("response has no `data` envelope", provider=NAME)
        return body["data"]

    async def instance_types(self) -> Any:
        return await self._call("GET", "/instance-types")
