"""Raw HTTP for the AWS Price List Bulk API (no auth): the EC2 region index, then one CSV per region.

A region's CSV is hundreds of MB, so it is streamed line by line and never held in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpx

from providers.errors import BadResponse, ProviderTimeout, ProviderUnavailable
from providers.http import raise_for_status, request_json

BASE_URL = "https://pricing.us-east-1.amazonaws.com"
REGION_INDEX_URL = f"{BASE_URL}/offers/v1.0/aws/AmazonEC2/current/region_index.json"
NAME = "aws"


class AwsPriceListClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def region_csv_urls(self, regions: Iterable[str]) -> dict[str, str]:
        """The current price CSV of each wanted region that the region index lists."""
        index = await request_json(self._http, "GET", REGION_INDEX_URL, provider=NAME)
        listed = index.get("regions") if isinstance(index, dict) else None
        if not isinstance(listed, dict):
            raise BadResponse("region index has no `regions` object", provider=NAME)
        return {region: _csv_url(listed[region]) for region in regions if region in listed}

    async def csv_lines(self, url: str) -> AsyncIterator[str]:
        """Stream a CSV's lines. HTTP and transport failures map like request_json's."""
        host = httpx.URL(url).host
        try:
            async with self._http.stream("GET", url) as response:
                if not response.is_success:
                    await response.aread()  # a small error body; needed for the typed error
                    raise_for_status(response, NAME)
                async for line in response.aiter_lines():
                    yield line
        except httpx.TimeoutException as exc:
            raise ProviderTimeout(f"no answer from {host} in time", provider=NAME) from exc
        except httpx.TransportError as exc:  # includes a body cut off mid-transfer
            raise ProviderUnavailable(
                f"cannot read from {host}: {type(exc).__name__}", provider=NAME
            ) from exc


def _csv_url(entry: Any) -> str:
    # Documented shape: {"regionCode": ..., "currentVersionUrl": "/offers/.../<region>/index.json"};
    # the same path ending in .csv is the CSV edition of that file.
    path = entry.get("currentVersionUrl") if isinstance(entry, dict) else None
    if not isinstance(path, str) or not path.startswith("/") or not path.endswith(".json"):
        raise BadResponse(f"unexpected currentVersionUrl {path!r} in the region index", provider=NAME)
    return f"{BASE_URL}{path.removesuffix('.json')}.csv"
