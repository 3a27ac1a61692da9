"""Raw HTTP for the TensorDock v2 API (https://dashboard.tensordock.com/api/v2). No business logic here.

Every request carries ``Authorization: Bearer <token>``; the API allows 100 requests/min per
organization. The legacy v0 marketplace API is deliberately not used. Bodies are JSON:API-style
envelopes (``data.type``, ``data.id``, ``data.attributes``); errors are ``{"errors": [...]}``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from providers.errors import BadResponse, InvalidRequest, NoCapacity, NotFound, ProviderError, QuotaExceeded
from providers.http import request_json

BASE_URL = "https://dashboard.tensordock.com/api/v2"
NAME = "tensordock"

# Errors carry no machine-readable code, only an HTTP status and words. The shared layer types
# them by status; a refused create is told apart by its words (kept narrow).
_CAPACITY_HINTS = ("not enough", "no available", "insufficient gpu", "out of stock", "capacity", "unavailable")
_QUOTA_HINTS = ("balance", "quota", "limit reached")


def _error_detail(body: Any) -> str:
    """JSON:API-style `{"errors": [{"status", "title", "detail"}]}`."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("detail") or errors[0].get("title") or "")
    return ""


def _refusal_from_words(response: httpx.Response, body: Any) -> ProviderError | None:
    status = response.status_code
    if status not in (400, 402, 403, 409, 422):
        return None
    detail = _error_detail(body).lower()
    if any(hint in detail for hint in _QUOTA_HINTS):
        return QuotaExceeded(_error_detail(body), provider=NAME, status_code=status)
    if status != 403 and any(hint in detail for hint in _CAPACITY_HINTS):
        return NoCapacity(_error_detail(body), provider=NAME, status_code=status)
    return None  # the shared layer: 403 InvalidCredentials, the rest InvalidRequest


class TensorDockClient:
    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self._http = http
        self._headers = {"Authorization": f"Bearer {token}"}

    async def _call(self, method: str, path: str, mapper=None, **kw: Any) -> Any:
        body = await request_json(
            self._http, method, f"{BASE_URL}{path}", provider=NAME, headers=self._headers, mapper=mapper, **kw,
        )
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            detail = _error_detail(body)
            raise BadResponse(f"response has no `data` object{': ' + detail if detail else ''}", provider=NAME)
        return body["data"]

    async def locations(self) -> list:
        data = await self._call("GET", "/locations")
        if not isinstance(data.get("locations"), list):
            raise BadResponse("`data.locations` is not a list", provider=NAME)
        return data["locations"]

    async def instances(self) -> list:
        data = await self._call("GET", "/instances")
        # The docs show `data.attributes.instances`; a published spec shows `data.instances`.
        listed = data.get("instances")
        if listed is None and isinstance(data.get("attributes"), dict):
            listed = data["attributes"].get("instances")
        if not isinstance(listed, list):
            raise BadResponse("the instance list has no `instances` array", provider=NAME)
        return listed

    async def instance(self, instance_id: str) -> dict:
        return await self._call("GET", f"/instances/{_segment(instance_id)}")

    async def create_instance(self, payload: dict[str, Any]) -> dict:
        try:
            return await self._call("POST", "/instances", mapper=_refusal_from_words, json=payload)
        except NotFound as exc:
            # On create a 404 names our input (location, image): a refused request.
            raise InvalidRequest(exc.message, provider=NAME, status_code=exc.status_code) from exc

    async def delete_instance(self, instance_id: str) -> None:
        await self._call("DELETE", f"/instances/{_segment(instance_id)}")

    async def instance_action(self, instance_id: str, action: str) -> None:
        """`start` or `stop`."""
        await self._call("POST", f"/instances/{_segment(instance_id)}/{action}")


def _segment(value: str) -> str:
    return quote(value, safe="")
