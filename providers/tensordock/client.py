"""Raw HTTP for the TensorDock v2 API (https://dashboard.tensordock.com/api/v2). No business logic here.

Every request carries ``Authorization: Bearer <token>``; the API allows 100 requests/min per
organization. The legacy v0 marketplace API is deliberately not used. Instance calls
(``/instances``, ``/instances/{id}/start|stop``) will be added here with the console.
"""

from __future__ import annotations

from typing import Any

import httpx

from providers.errors import BadResponse
from providers.http import request_json

BASE_URL = "https://dashboard.tensordock.com/api/v2"
NAME = "tensordock"


def _error_detail(body: Any) -> str:
    """JSON:API-style `{"errors": [{"title", "detail"}]}` (third-party derived, unconfirmed)."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("detail") or errors[0].get("title") or "")
    return ""


class TensorDockClient:
    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self._http = http
        self._headers = {"Authorization": f"Bearer {token}"}

    async def _call(self, method: str, path: str, **kw: Any) -> Any:
        # No documented error codes: the shared layer types failures by HTTP status.
        body = await request_json(
            self._http, method, f"{BASE_URL}{path}", provider=NAME, headers=self._headers, **kw,
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
