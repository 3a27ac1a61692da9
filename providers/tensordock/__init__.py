"""TensorDock (v2 API): offers now; the instance lifecycle lands with the console."""

from __future__ import annotations

from providers.base import FetchResult, PriceBasis, PriceSource
from providers.tensordock.client import TensorDockClient
from providers.tensordock.offers import PRICING_URL, parse_locations


class TensorDockSource(PriceSource):
    NAME = "tensordock"
    DISPLAY_NAME = "TensorDock"
    HOMEPAGE = "https://tensordock.com"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = True  # every v2 endpoint, /locations included, needs a Bearer token
    PRICE_BASIS = PriceBasis.SMALLEST_VM
    PRICE_INCLUDES = ('TensorDock bills GPU, vCPU, RAM and storage separately: the price is the smallest deployable VM, 1 GPU with 2 vCPUs, 4 GB RAM and the 100 GB minimum disk.')
    KIND = "provider"

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.tensordock}

    async def fetch_offers(self) -> FetchResult:
        client = TensorDockClient(self.http, self.credentials["api_key"])
        return parse_locations(await client.locations())
