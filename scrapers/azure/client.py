"""Raw HTTP for the Azure Retail Prices API (no auth): one filtered query, walked page by page."""

from __future__ import annotations

from typing import Any

import httpx

from providers.errors import BadResponse
from providers.http import request_json
from scrapers.azure.series import SKU_MARKERS

BASE_URL = "https://prices.azure.com/api/retail/prices"
API_VERSION = "2023-01-01-preview"  # since this version $filter values are case-sensitive
NAME = "azure"
# The GPU filter yields a handful of 1000-item pages; far more means the walk is broken.
MAX_PAGES = 50


def gpu_filter() -> str:
    sizes = " or ".join(f"contains(armSkuName,'{marker}')" for marker in SKU_MARKERS)
    return f"serviceName eq 'Virtual Machines' and priceType eq 'Consumption' and ({sizes})"


class AzureRetailClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def gpu_vm_prices(self) -> list[dict[str, Any]]:
        """Every item of every page, following NextPageLink until it is null.

        A repeated link or too many pages fails the fetch (BadResponse) rather than publishing
        what was read so far: once the walk loops, the pages after the loop were never seen.
        """
        url = BASE_URL
        params: dict[str, str] | None = {"api-version": API_VERSION, "$filter": gpu_filter()}
        seen_links: set[str] = set()
        items: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            body = await request_json(self._http, "GET", url, provider=NAME, params=params)
            page_items, next_link = _read_page(body)
            items.extend(page_items)
            if not next_link:
                return items
            if next_link in seen_links:
                raise BadResponse("NextPageLink repeats an earlier page (pagination loop)", provider=NAME)
            seen_links.add(next_link)
            url, params = _checked_link(next_link), None
        raise BadResponse(f"more than {MAX_PAGES} pages of GPU prices; stopped", provider=NAME)


def _read_page(body: Any) -> tuple[list[dict[str, Any]], str | None]:
    if not isinstance(body, dict) or not isinstance(body.get("Items"), list):
        raise BadResponse("response has no `Items` list", provider=NAME)
    next_link = body.get("NextPageLink")
    if next_link is not None and not isinstance(next_link, str):
        raise BadResponse("NextPageLink is not a string", provider=NAME)
    return body["Items"], next_link


def _checked_link(link: str) -> str:
    # The link is absolute and comes from the response: only ever follow it to the price API.
    url = httpx.URL(link)
    if url.scheme != "https" or url.host != httpx.URL(BASE_URL).host:
        raise BadResponse(f"NextPageLink points outside the price API: {url.host}", provider=NAME)
    return link
