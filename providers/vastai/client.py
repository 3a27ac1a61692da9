"""Raw HTTP for the Vast.ai API (https://console.vast.ai/api/v0). No business logic here."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from providers.errors import BadResponse, InvalidCredentials, ProviderError
from providers.http import ErrorMapper, request_json

log = logging.getLogger(__name__)

BASE_URL = "https://console.vast.ai/api/v0"
NAME = "vastai"

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


class VastClient:
    def __init__(self, http: httpx.AsyncClient, api_key: str = "") -> None:
        self._http = http
        # Search works without a key today; send one when configured. Never as `?api_key=`.
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def _call(self, method: str, path: str, *, mapper: ErrorMapper | None = None, **kw: Any) -> Any:
        return await request_json(
            self._http, method, f"{BASE_URL}{path}", provider=NAME,
            mapper=mapper, headers=self._headers, **kw,
        )

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
