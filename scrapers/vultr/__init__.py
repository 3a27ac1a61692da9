"""Vultr: Cloud GPU and bare-metal GPU plan prices from the public plan lists (no key).

Vultr answers 503 when it rate-limits; that is already ProviderUnavailable (retryable).
"""

from __future__ import annotations

import asyncio

from providers.base import FetchResult, PriceBasis, PriceSource
from scrapers.vultr.client import VultrClient
from scrapers.vultr.offers import PRICING_URL, parse_plans


class VultrSource(PriceSource):
    NAME = "vultr"
    DISPLAY_NAME = "Vultr"
    HOMEPAGE = "https://www.vultr.com"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = False
    PRICE_BASIS = PriceBasis.INSTANCE
    PRICE_INCLUDES = ('The plan per hour: its GPUs (or GPU slice), vCPUs, RAM and disk.')

    async def fetch_offers(self) -> FetchResult:
        client = VultrClient(self.http)
        # Both lists always run to the end, then the first failure wins: one half is never published.
        outcomes = await asyncio.gather(client.cloud_gpu_plans(), client.bare_metal_plans(),
                                        return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        cloud_gpu, bare_metal = outcomes
        return parse_plans(cloud_gpu, bare_metal)
