"""Oracle Cloud (OCI): GPU shape list prices from the public Cost Estimator data (no key)."""

from __future__ import annotations

import asyncio

from providers.base import FetchResult, PriceBasis, PriceSource
from scrapers.oci.client import CostEstimatorClient
from scrapers.oci.offers import PRICING_URL, parse_catalog


class OciSource(PriceSource):
    NAME = "oci"
    DISPLAY_NAME = "Oracle Cloud (OCI)"
    HOMEPAGE = "https://www.oracle.com/cloud/"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = False
    PRICE_BASIS = PriceBasis.INSTANCE
    PRICE_INCLUDES = ("The GPU shape's list price (per GPU-hour x GPUs), which covers the shape's OCPUs, memory and local NVMe; block volumes are billed apart.")
    POLL_INTERVAL_SECONDS = 6 * 3600  # list prices; they change rarely

    async def fetch_offers(self) -> FetchResult:
        client = CostEstimatorClient(self.http)
        # Both files always load to the end, then the first failure wins.
        outcomes = await asyncio.gather(client.shapes(), client.products(), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        shapes, products = outcomes
        return parse_catalog(shapes, products)
