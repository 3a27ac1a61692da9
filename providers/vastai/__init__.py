"""Vast.ai marketplace: offers now; the instance lifecycle lands with the console."""

from __future__ import annotations

from providers.base import FetchResult, PriceSource
from providers.vastai.client import VastClient
from providers.vastai.offers import PRICING_URL, parse_offers


class VastSource(PriceSource):
    NAME = "vastai"
    DISPLAY_NAME = "Vast.ai"
    HOMEPAGE = "https://vast.ai"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = False  # offer search answers without a key today; a key is sent when set
    KIND = "provider"

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.vastai}

    async def fetch_offers(self) -> FetchResult:
        client = VastClient(self.http, self.credentials.get("api_key", ""))
        return parse_offers(await client.search_offers())
