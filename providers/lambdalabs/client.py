"""Raw HTTP for the Lambda Cloud API (https://cloud.lambda.ai/api/v1). No business logic here."""

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
    ProviderUnavailable,
    QuotaExceeded,
)
from providers.http import request_json

BASE_URL = "https://cloud.lambda.ai/api/v1"
NAME = "lambdalabs"


class AlreadyExists(InvalidRequest):
    """`global/duplicate`: e.g. an SSH key name that is already registered."""


# Lambda's documented error codes -> our types. Branch on `code`, never on `message`.
_ERROR_CODES: dict[str, type[ProviderError]] = {
    "global/invalid-api-key": InvalidCredentials,
    "global/account-inactive": InvalidCredentials,
    "global/forbidden": InvalidCredentials,
    "global/invalid-parameters": InvalidRequest,
    "global/invalid-address": InvalidRequest,  # billing address: an account problem, not a bad key
    "global/object-does-not-exist": NotFound,
    "global/not-found": NotFound,
    "global/quota-exceeded": QuotaExceeded,
    "global/conflict": InvalidRequest,
    "global/duplicate": AlreadyExists,
    "instance-operations/launch/insufficient-capacity": NoCapacity,
    "instance-operations/launch/file-system-in-wrong-region": InvalidRequest,
    "global/internal-error": ProviderUnavailable,
}


def _error_from_envelope(response: httpx.Response, body: Any) -> ProviderError | None:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or response.status_code == 429:
        return None  # the shared layer owns 429 + Retry-After
    code = str(error.get("code", ""))
    message = str(error.get("message", "")) or code
    if code.startswith("provider/"):
        return ProviderUnavailable(f"upstream failure ({code}): {message}", provider=NAME,
                                   status_code=response.status_code)
    cls = _ERROR_CODES.get(code)
    if cls is None:
        return None
    return cls(f"{message} ({code})", provider=NAME, status_code=response.status_code)


def _path_id(instance_id: str) -> str:
    return quote(instance_id, safe="")


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

    async def instances(self) -> Any:
        return await self._call("GET", "/instances")

    async def instance(self, instance_id: str) -> Any:
        return await self._call("GET", f"/instances/{_path_id(instance_id)}")

    async def launch(self, body: dict[str, Any]) -> Any:
        try:
            return await self._call("POST", "/instance-operations/launch", json=body)
        except NotFound as exc:
            # On launch `object-does-not-exist` names our input (SSH key, type, filesystem):
            # a refused request, not a vanished instance.
            raise InvalidRequest(exc.message, provider=NAME, status_code=exc.status_code) from exc

    async def terminate(self, instance_ids: list[str]) -> Any:
        return await self._call("POST", "/instance-operations/terminate", json={"instance_ids": instance_ids})

    async def restart(self, instance_ids: list[str]) -> Any:
        return await self._call("POST", "/instance-operations/restart", json={"instance_ids": instance_ids})

    async def ssh_keys(self) -> Any:
        return await self._call("GET", "/ssh-keys")

    async def add_ssh_key(self, name: str, public_key: str) -> Any:
        return await self._call("POST", "/ssh-keys", json={"name": name, "public_key": public_key})
