"""Hyperstack (NexGen Cloud): offers now; the instance lifecycle lands with the console."""

from __future__ import annotations

import asyncio

from providers.base import FetchResult, PriceSource
from providers.hyperstack.client import HyperstackClient
from providers.hyperstack.offers import PRICING_URL, parse_flavors, pricebook_rates


class HyperstackSource(PriceSource):
    NAME = "hyperstack"
    DISPLAY_NAME = "Hyperstack"
    HOMEPAGE = "https://www.hyperstack.cloud"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = True  # flavors and pricebook both need an api_key
    KIND = "provider"

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.hyperstack}

    async def fetch_offers(self) -> FetchResult:
        client = HyperstackClient(self.http, self.credentials["api_key"])
        # Concurrent (the API is slow); both are awaited so none is orphaned, then the first failure wins.
        groups, pricebook = await asyncio.gather(client.flavors(), client.pricebook(), return_exceptions=True)
        for outcome in (groups, pricebook):
            if isinstance(outcome, BaseException):
                raise outcome
        return parse_flavors(groups, pricebook_rates(pricebook))
