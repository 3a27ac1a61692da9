"""Raw HTTP for the Verda API, formerly DataCrunch (https://api.verda.com/v1). No business logic here.

Auth is OAuth2 client credentials: trade the client id and secret for a bearer token at
`/oauth2/token`, then send the token. One client keeps its token until shortly before it
expires, so all of one adapter's calls share it. Shapes follow verda-cloud/sdk-python.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
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
from providers.http import ErrorMapper, raise_for_status, request_json

BASE_URL = "https://api.verda.com/v1"
NAME = "verda"
# Renew a little early so a token never expires between the check and the call.
TOKEN_MARGIN_SECONDS = 60

# Verda's documented error codes ({"code", "message"}) -> our types. Branch on `code` only.
_ERROR_CODES: dict[str, type[ProviderError]] = {
    "invalid_request": InvalidRequest,
    "unauthorized_request": InvalidCredentials,
    "forbidden_action": InvalidRequest,
    # The balance blocks every launch until the user tops up: an account limit like a quota
    # (not retryable, nothing to change in the request), not a bad parameter.
    "insufficient_funds": QuotaExceeded,
    "not_found": NotFound,
    "server_error": ProviderUnavailable,
    "service_unavailable": ProviderUnavailable,
}


# "No capacity" has no code of its own: a 503 whose message says "Not enough resources to
# deploy ..." (seen in a verda-cli issue; unconfirmed wording, so the hint stays narrow).
_CAPACITY_HINT = "not enough resources"


def _error_from_envelope(response: httpx.Response, body: Any) -> ProviderError | None:
    if not isinstance(body, dict) or response.status_code == 429:
        return None
    code = str(body.get("code", ""))
    if _CAPACITY_HINT in str(body.get("message", "")).lower():
        return NoCapacity(f"{body['message']} ({code or 'no code'})"[:300], provider=NAME,
                          status_code=response.status_code)
    cls = _ERROR_CODES.get(code)
    if cls is None:
        return None
    message = str(body.get("message", "")) or code
    return cls(f"{message} ({code})", provider=NAME, status_code=response.status_code)


def _token_error(response: httpx.Response, body: Any) -> ProviderError | None:
    # The token endpoint answers a wrong client id or secret with 400 or 401 (the SDK
    # treats both as "log in again"); either way the credentials are at fault.
    if response.status_code in (400, 401, 403):
        code = body.get("code") if isinstance(body, dict) else None
        return InvalidCredentials(
            f"Verda refused the client credentials (HTTP {response.status_code}, {code or 'no code'})",
            provider=NAME, status_code=response.status_code,
        )
    return _error_from_envelope(response, body)


class VerdaClient:
    def __init__(self, http: httpx.AsyncClient, client_id: str, client_secret: str) -> None:
        self._http = http
        self._client_id = client_id
        self._client_secret = client_secret
        self._token = ""
        self._token_valid_until = 0.0  # time.monotonic()

    async def _request(self, method: str, path: str, mapper: ErrorMapper, **kw: Any) -> Any:
        return await request_json(self._http, method, f"{BASE_URL}{path}", provider=NAME, mapper=mapper, **kw)

    async def _access_token(self) -> str:
        if self._token and time.monotonic() < self._token_valid_until:
            return self._token
        body = await self._request("POST", "/oauth2/token", _token_error, json={
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        })
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise BadResponse("token answer has no access_token", provider=NAME)
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, (int, Decimal)) else 0.0
        self._token = token
        self._token_valid_until = time.monotonic() + lifetime - TOKEN_MARGIN_SECONDS
        return token

    async def _call(self, method: str, path: str, **kw: Any) -> Any:
        token = await self._access_token()
        headers = {"Authorization": f"Bearer {token}"}
        return await self._request(method, path, _error_from_envelope, headers=headers, **kw)

    async def _call_text(self, method: str, path: str, **kw: Any) -> str:
        """For the calls that answer a bare id as plain text (create instance, add SSH key)."""
        token = await self._access_token()
        url = f"{BASE_URL}{path}"
        try:
            response = await self._http.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kw)
        except httpx.TimeoutException as exc:
            raise ProviderTimeout(f"no answer from {httpx.URL(url).host} in time", provider=NAME) from exc
        except httpx.TransportError as exc:
            raise ProviderUnavailable(f"cannot reach {httpx.URL(url).host}: {type(exc).__name__}",
                                      provider=NAME) from exc
        raise_for_status(response, NAME, _error_from_envelope)
        return _bare_id(response.text, f"{method} {path}")

    async def _list(self, path: str, **kw: Any) -> list[Any]:
        """Verda lists are bare JSON arrays; anything else is an error body or drift."""
        body = await self._call("GET", path, **kw)
        if isinstance(body, list):
            return body
        # e.g. {"code": "service_unavailable", "message": ...} behind a 200
        mapped = _error_from_envelope(httpx.Response(200), body)
        raise mapped or BadResponse(f"GET {path} did not answer a list", provider=NAME)

    async def instance_types(self) -> list[Any]:
        """Every instance type with its prices: decimal strings, USD per instance-hour."""
        return await self._list("/instance-types", params={"currency": "usd"})

    async def availability(self, *, spot: bool) -> list[Any]:
        """[{location_code, availabilities: [instance_type, ...]}] for one market."""
        return await self._list("/instance-availability", params={"is_spot": "true" if spot else "false"})

    async def instances(self) -> list[Any]:
        """Every instance that is not deleted."""
        return await self._list("/instances")

    async def instance(self, instance_id: str) -> dict[str, Any]:
        body = await self._call("GET", f"/instances/{_path_id(instance_id)}")
        if not isinstance(body, dict):
            raise BadResponse("GET /instances/{id} did not answer an instance object", provider=NAME)
        return body

    async def create_instance(self, body: dict[str, Any]) -> str:
        """The new instance's id: the answer is that id as plain text."""
        return await self._call_text("POST", "/instances", json=body)

    async def instance_action(self, instance_id: str, action: str) -> None:
        """`start`, `shutdown`, `delete`, `hibernate` or `restore`, in the SDK's body shape.

        Without `volume_ids`, `delete` removes the OS volume too (SDK docs): nothing is left billing.
        """
        await self._call("PUT", "/instances", json={"id": [instance_id], "action": action, "volume_ids": None})

    async def ssh_keys(self) -> list[Any]:
        """[{id, name, key}]"""
        return await self._list("/sshkeys")

    async def add_ssh_key(self, name: str, public_key: str) -> str:
        return await self._call_text("POST", "/sshkeys", json={"name": name, "key": public_key})

    async def balance(self) -> Any:
        """{amount, currency}: the cheapest authenticated call."""
        return await self._call("GET", "/balance")


def _path_id(instance_id: str) -> str:
    if not instance_id:
        raise NotFound("no instance id", provider=NAME)
    return quote(instance_id, safe="")


def _bare_id(text: str, what: str) -> str:
    value = text.strip()
    if value.startswith('"'):  # tolerate a JSON string, should the API ever quote it
        try:
            value = str(json.loads(value))
        except ValueError:
            value = ""
    if not value or any(c.isspace() for c in value) or len(value) > 100:
        raise BadResponse(f"{what} did not answer a bare id", provider=NAME)
    return value
