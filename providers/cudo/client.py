"""Raw HTTP for the CUDO Compute REST API (https://rest.compute.cudo.org/v1). No business logic here.

The machine-type catalogue is readable without a key; a Bearer key is sent when one is set.
Instance calls (``/projects/{p}/vm``, ``/projects/{p}/vms/{id}/start|stop|terminate``) will be
added here with the console.
"""

from __future__ import annotations

from typing import Any

import httpx

from providers.errors import (
    BadResponse,
    InvalidCredentials,
    InvalidRequest,
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
    8: QuotaExceeded,  # RESOURCE_EXHAUSTED (a 429 is left to the shared Retry-After handling)
    9: InvalidRequest,  # FAILED_PRECONDITION
    13: ProviderUnavailable,  # INTERNAL
    14: ProviderUnavailable,  # UNAVAILABLE
    16: InvalidCredentials,  # UNAUTHENTICATED
}


def _error_from_envelope(response: httpx.Response, body: Any) -> ProviderError | None:
    if not isinstance(body, dict) or not isinstance(body.get("code"), int) or response.status_code == 429:
        return None
    cls = _GRPC_CODES.get(body["code"])
    if cls is None:
        return None
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
