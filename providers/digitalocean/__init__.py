"""DigitalOcean GPU Droplets: offers now; the Droplet lifecycle lands with the console."""

from __future__ import annotations

from providers.base import FetchResult, PriceBasis, PriceSource
from providers.digitalocean.client import DigitalOceanClient
from providers.digitalocean.offers import PRICING_URL, parse_sizes


class DigitalOceanSource(PriceSource):
    NAME = "digitalocean"
    DISPLAY_NAME = "DigitalOcean"
    HOMEPAGE = "https://www.digitalocean.com"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = True  # /v2/sizes needs a token (anonymous access unconfirmed)
    PRICE_BASIS = PriceBasis.INSTANCE
    PRICE_INCLUDES = ('The GPU Droplet per hour: its GPUs, vCPUs, RAM, boot and scratch disks and transfer allowance.')
    KIND = "provider"

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.digitalocean}

    async def fetch_offers(self) -> FetchResult:
        client = DigitalOceanClient(self.http, self.credentials["api_key"])
        return parse_sizes(await client.sizes())
