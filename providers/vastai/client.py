"""Raw HTTP for the Vast.ai API (https://console.vast.ai/api/v0, and v1 for the instance list).
No business logic here. Spec: vast-ai/docs api-reference/openapi/yaml/*.yaml.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from providers.errors import (
    BadResponse,
    InvalidCredentials,
    InvalidRequest,
    NoCapacity,
    NotFound,
    ProviderError,
)
from providers.http import ErrorMapper, request_json

log = logging.getLogger(__name__)

BASE_URL = "https://console.vast.ai/api/v0"
V1_URL = "https://console.vast.ai/api/v1"
NAME = "vastai"
PAGE_SIZE = 25  # the v1 instance list's maximum
MAX_PAGES = 200  # 5,000 instances: far beyond any account; past it the paging is broken, not long

# The marketplace has a few thousand rentable machines; one search covers it (gpuhunt uses
# the same ceiling for a full scan). Vast also meters search rows per day, so no more.
OFFER_LIMIT = 3000

SEARCH_ON_DEMAND = {
    "verified": {"eq": True},
    "rentable": {"eq": True},
    # The docs say the server drops `rented`; offers.py checks each offer's flag as well.
    "rented": {"eq": False},
    # What the official CLI sends; the spec spells it "ondemand", also the default.
    "type": "on-demand",
    "order": [["dph_total", "asc"]],
    "limit": OFFER_LIMIT,
}


def _search_error(response: httpx.Response, body: Any) -> ProviderError | None:
    # Search answers a missing or refused key with 404 {"msg": "Invalid user key"} (per spec):
    # the search has no object to be missing, so a JSON 404 there is about the key. A 404
    # without that JSON body (an HTML page: the path moved) stays NotFound.
    # Search only: on instance endpoints a 404 will mean "no such instance".
    if response.status_code == 404 and isinstance(body, dict):
        return InvalidCredentials(
            f"Vast refused the API key (HTTP 404): {body.get('msg') or 'no detail'}",
            provider=NAME, status_code=404,
        )
    return None


# Vast's documented `error` codes ({"success": false, "error", "msg"}) -> our types.
_ERROR_CODES: dict[str, type[ProviderError]] = {
    "no_such_instance": NotFound,
    "not_found": NotFound,
    "no_such_ask": NoCapacity,  # the offer was rented or withdrawn meanwhile
    "auth_error": InvalidCredentials,
    "invalid_args": InvalidRequest,
    "invalid_price": InvalidRequest,
    "no_ssh_key_for_vm": InvalidRequest,
}


def _failure_message(body: dict) -> str:
    return str(body.get("msg") or body.get("message") or body.get("error") or "no detail")[:300]


def _instance_error(response: httpx.Response, body: Any) -> ProviderError | None:
    """Instance endpoints: the `error` code decides; without one, the HTTP status does."""
    if response.status_code == 429 or not isinstance(body, dict):
        return None  # the shared layer owns 429 (Vast sends no Retry-After)
    cls = _ERROR_CODES.get(str(body.get("error") or ""))
    if cls is None:
        return None
    return cls(_failure_message(body), provider=NAME, status_code=response.status_code)


class UnstartedInstance(NoCapacity):
    """The create call failed, yet its answer carries `new_contract`: an instance exists, stopped.

    Vast does this for an interruptible bid below the machine's current price (dstack destroys
    it); the caller must destroy ``instance_id`` or it keeps paying for its disk.
    """

    def __init__(self, message: str, *, instance_id: int, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.instance_id = instance_id


def _ask_error(response: httpx.Response, body: Any) -> ProviderError | None:
    status = response.status_code
    if status == 429:
        return None
    message = _failure_message(body) if isinstance(body, dict) else response.reason_phrase
    kw: dict[str, Any] = {"provider": NAME, "status_code": status}
    contract = body.get("new_contract") if isinstance(body, dict) else None
    if isinstance(contract, int) and not isinstance(contract, bool):
        return UnstartedInstance(message, instance_id=contract, **kw)
    if status in (404, 410):  # "Offer not found or not available" / "no longer available"
        return NoCapacity(f"this Vast offer is no longer available: {message}", **kw)
    if status == 403:  # e.g. "Offer ... is not your own": the key works, the request does not
        return InvalidRequest(message, **kw)
    return _instance_error(response, body)


class VastClient:
    def __init__(self, http: httpx.AsyncClient, api_key: str = "") -> None:
        self._http = http
        # Search works without a key today; send one when configured. Never as `?api_key=`.
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def _call(
        self, method: str, path: str, *, mapper: ErrorMapper | None = None, base: str = BASE_URL, **kw: Any
    ) -> Any:
        return await request_json(
            self._http, method, f"{base}{path}", provider=NAME,
            mapper=mapper, headers=self._headers, **kw,
        )

    async def _instance_call(
        self, method: str, path: str, *, mapper: ErrorMapper = _instance_error, **kw: Any
    ) -> dict[str, Any]:
        """An instance endpoint's JSON object; `{"success": false, ...}` behind a 200 is an error too."""
        body = await self._call(method, path, mapper=mapper, **kw)
        if not isinstance(body, dict):
            raise BadResponse(f"{method} {path.split('?')[0]} did not answer a JSON object", provider=NAME)
        if body.get("success") is False:
            mapped = mapper(httpx.Response(400), body)
            raise mapped or InvalidRequest(_failure_message(body), provider=NAME)
        return body

    async def search_offers(self) -> list[Any]:
        """Rentable on-demand offers, cheapest first; each carries its interruptible `min_bid`."""
        body = await self._call("POST", "/bundles/", mapper=_search_error, json=SEARCH_ON_DEMAND)
        if not isinstance(body, dict) or not isinstance(body.get("offers"), list):
            # e.g. {"success": false, "error": "...", "msg": "..."} behind HTTP 200
            detail = (body.get("msg") or body.get("error")) if isinstance(body, dict) else None
            raise BadResponse(f"search answer has no `offers` list: {detail or 'unexpected shape'}",
                              provider=NAME)
        offers = body["offers"]
        if body.get("truncated") or len(offers) >= OFFER_LIMIT:
            # Still the cheapest offers in order; the priciest machines may be missing.
            log.warning("%s: search stopped at %d offers; the marketplace has more", NAME, len(offers))
        return offers

    async def offer(self, offer_id: int) -> dict[str, Any] | None:
        """One offer by id (for its current `min_bid`), or None when it is no longer listed."""
        body = await self._call("POST", "/bundles/", mapper=_search_error, json={"id": {"eq": offer_id}})
        offers = body.get("offers") if isinstance(body, dict) else None
        if not isinstance(offers, list):
            raise BadResponse("offer search answer has no `offers` list", provider=NAME)
        return next((o for o in offers if isinstance(o, dict) and o.get("id") == offer_id), None)

    async def instances(self) -> list[Any]:
        """Every instance, through the v1 keyset paging (the v0 list is deprecated)."""
        items: list[Any] = []
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        for _ in range(MAX_PAGES):
            body = await self._instance_call("GET", "/instances/", base=V1_URL, params=params)
            page = body.get("instances")
            if not isinstance(page, list):
                raise BadResponse("instance list has no `instances` list", provider=NAME)
            items.extend(page)
            next_token = body.get("next_token")
            if not next_token:
                return items
            params = {"limit": PAGE_SIZE, "after_token": next_token}
        raise BadResponse(f"instance paging did not end after {MAX_PAGES} pages", provider=NAME)

    async def first_instance(self) -> list[Any]:
        """At most one instance: the cheapest authenticated call on the instance API."""
        body = await self._instance_call("GET", "/instances/", base=V1_URL, params={"limit": 1})
        return body.get("instances") or []

    async def instance(self, instance_id: int) -> dict[str, Any]:
        body = await self._instance_call("GET", f"/instances/{instance_id}/")
        # An object, not a list; null when the instance is gone (the CLI reads it that way).
        instance = body.get("instances")
        if instance is None:
            raise NotFound(f"no instance {instance_id}", provider=NAME)
        if not isinstance(instance, dict):
            raise BadResponse("`instances` is not an instance object", provider=NAME)
        return instance

    async def create_instance(self, offer_id: int, body: dict[str, Any]) -> int:
        """Accept the offer; the new instance's id (`new_contract`)."""
        answer = await self._instance_call("PUT", f"/asks/{offer_id}/", mapper=_ask_error, json=body)
        contract = answer.get("new_contract")
        if not isinstance(contract, int) or isinstance(contract, bool):
            raise BadResponse("create answered no `new_contract` id", provider=NAME)
        return contract

    async def set_state(self, instance_id: int, state: str) -> None:
        """`running` or `stopped`."""
        await self._instance_call("PUT", f"/instances/{instance_id}/", json={"state": state})

    async def reboot(self, instance_id: int) -> None:
        await self._instance_call("PUT", f"/instances/reboot/{instance_id}/")

    async def destroy(self, instance_id: int) -> None:
        await self._instance_call("DELETE", f"/instances/{instance_id}/")

    async def ssh_keys(self) -> list[Any]:
        try:
            keys = await self._call("GET", "/ssh/", mapper=_instance_error)
        except NotFound:
            return []  # documented: 404 "No SSH keys found for the user"
        if not isinstance(keys, list):
            raise BadResponse("GET /ssh/ did not answer a list of keys", provider=NAME)
        return keys

    async def add_ssh_key(self, public_key: str) -> None:
        await self._instance_call("POST", "/ssh/", json={"ssh_key": public_key})
