"""Azure: GPU VM list prices from the public Retail Prices API (no key)."""

from __future__ import annotations

from providers.base import FetchResult, PriceBasis, PriceSource
from scrapers.azure.client import AzureRetailClient
from scrapers.azure.offers import PRICING_URL, parse_items


class AzureSource(PriceSource):
    NAME = "azure"
    DISPLAY_NAME = "Microsoft Azure"
    HOMEPAGE = "https://azure.microsoft.com"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = False
    PRICE_BASIS = PriceBasis.INSTANCE
    PRICE_INCLUDES = ('The Linux VM size per hour: its GPUs, vCPUs, RAM and temporary disk; managed OS disks are billed apart.')
    POLL_INTERVAL_SECONDS = 6 * 3600  # list prices change rarely; the walk is several pages

    async def fetch_offers(self) -> FetchResult:
        return parse_items(await AzureRetailClient(self.http).gpu_vm_prices())
