"""Raw HTTP for the Hyperstack (NexGen Cloud Infrahub) API. No business logic here.

Auth is an ``api_key`` header, not Bearer. State changes (start/stop/hard-reboot) are GETs.
"""

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
    QuotaExceeded,
)
from providers.http import request_json

BASE_URL = "https://infrahub-api.nexgencloud.com/v1"
NAME = "hyperstack"
PAGE_SIZE = 100
MAX_PAGES = 50  # 5,000 items: far beyond any account; past it the paging is broken, not long


class Conflict(InvalidRequest):
    """HTTP 409: the resource already exists (e.g. a key pair name) or is in a conflicting state."""


# The envelope {"status": false, "message", "error_reason"} carries only a coarse category
# (`error_reason`: bad_request, unauthorized, forbidden, not_found...), so the HTTP status picks
# the type; the envelope supplies the words.
_STATUS_TYPES: dict[int, type[ProviderError]] = {
    401: InvalidCredentials,
    403: InvalidCredentials,
    404: NotFound,
}
# No error code tells "sold out" or "over quota" apart from any other bad request, so for
# those two the message is all there is (unconfirmed wording; keep the hints narrow).
_CAPACITY_HINTS = ("capacity", "out of stock", "stock unavailable", "not enough resources",
                   "insufficient resources")
_QUOTA_HINTS = ("quota",)


def _is_failure(body: Any) -> bool:
    return isinstance(body, dict) and body.get("status") is False


def _failure_message(body: dict) -> str:
    message = str(body.get("message") or "request failed")
    reason = body.get("error_reason")
    return f"{message} ({reason})" if reason and reason != message else message


def _type_from_words(message: str) -> type[ProviderError] | None:
    words = message.lower()
    if any(hint in words for hint in _CAPACITY_HINTS):
        return NoCapacity
    if any(hint in words for hint in _QUOTA_HINTS):
        return QuotaExceeded
    return None


def _error_from_envelope(response: httpx.Response, body: Any) -> ProviderError | None:
    status = response.status_code
    if not _is_failure(body) or status == 429 or status >= 500:
        return None  # the shared layer owns Retry-After and outages
    message = _failure_message(body)
    if response.is_success:
        return BadResponse(f"failure envelope behind HTTP {status}: {message}", provider=NAME, status_code=status)
    cls = _STATUS_TYPES.get(status) or _type_from_words(message) or (Conflict if status == 409 else InvalidRequest)
    return cls(message, provider=NAME, status_code=status)


def _items(body: Any, key: str) -> list:
    items = body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise BadResponse(f"response has no `{key}` list", provider=NAME)
    return items


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

    async def _paged(self, path: str, key: str) -> list:
        """Every item of a `page`/`pageSize` listing. Honours a smaller page size the server reports."""
        items: list = []
        for page in range(1, MAX_PAGES + 1):
            body = await self._call("GET", path, params={"page": page, "pageSize": PAGE_SIZE})
            batch = _items(body, key)
            items.extend(batch)
            size = body.get("page_size")
            size = size if isinstance(size, int) and not isinstance(size, bool) and size > 0 else PAGE_SIZE
            if len(batch) < size:
                return items
        raise BadResponse(f"{path}: paging did not end after {MAX_PAGES} pages", provider=NAME)

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

    async def virtual_machines(self) -> list:
        return await self._paged("/core/virtual-machines", "instances")

    async def first_virtual_machines_page(self) -> list:
        """One VM at most: the cheapest authenticated call that needs the lifecycle permission."""
        body = await self._call("GET", "/core/virtual-machines", params={"page": 1, "pageSize": 1})
        return _items(body, "instances")

    async def virtual_machine(self, vm_id: int) -> Any:
        body = await self._call("GET", f"/core/virtual-machines/{vm_id}")
        if not isinstance(body, dict) or not isinstance(body.get("instance"), dict):
            raise BadResponse("virtual machine response has no `instance` object", provider=NAME)
        return body["instance"]

    async def create_virtual_machines(self, payload: dict[str, Any]) -> list:
        try:
            body = await self._call("POST", "/core/virtual-machines", json=payload)
        except NotFound as exc:
            # On create a 404 names our input (environment, flavor, image, key pair):
            # a refused request, not a vanished VM.
            raise InvalidRequest(exc.message, provider=NAME, status_code=exc.status_code) from exc
        return _items(body, "instances")

    async def delete_virtual_machine(self, vm_id: int) -> None:
        await self._call("DELETE", f"/core/virtual-machines/{vm_id}")

    async def vm_action(self, vm_id: int, action: str) -> None:
        """`start`, `stop` or `hard-reboot`: Hyperstack changes state with GET."""
        await self._call("GET", f"/core/virtual-machines/{vm_id}/{action}")

    async def environments(self) -> list:
        return await self._paged("/core/environments", "environments")

    async def keypairs(self) -> list:
        return await self._paged("/core/keypairs", "keypairs")

    async def import_keypair(self, name: str, environment_name: str, public_key: str) -> Any:
        return await self._call("POST", "/core/keypairs", json={
            "name": name, "environment_name": environment_name, "public_key": public_key,
        })
