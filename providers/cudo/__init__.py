"""CUDO Compute: offers now; the instance lifecycle lands with the console."""

from __future__ import annotations

from providers.base import FetchResult, PriceBasis, PriceSource
from providers.cudo.client import CudoClient
from providers.cudo.offers import PRICING_URL, parse_machine_types


class CudoSource(PriceSource):
    NAME = "cudo"
    DISPLAY_NAME = "CUDO Compute"
    HOMEPAGE = "https://www.cudocompute.com"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = False  # /vms/machine-types answers without a key; one is sent when set
    PRICE_BASIS = PriceBasis.SMALLEST_VM
    PRICE_INCLUDES = ('CUDO bills GPU, vCPU, RAM, disk and IPv4 separately: the price is the cheapest valid 1-GPU shape (fewest vCPUs, least RAM) with a 100 GB boot disk and one IPv4 address.')
    KIND = "provider"

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.cudo}

    async def fetch_offers(self) -> FetchResult:
        client = CudoClient(self.http, self.credentials.get("api_key", ""))
        return parse_machine_types(await client.machine_types())
