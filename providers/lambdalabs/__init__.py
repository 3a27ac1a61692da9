"""Lambda Cloud: offers now; the instance lifecycle lands with the console."""

from __future__ import annotations

from providers.base import FetchResult, PriceSource
from providers.lambdalabs.client import LambdaClient
from providers.lambdalabs.offers import PRICING_URL, parse_instance_types


class LambdaSource(PriceSource):
    NAME = "lambdalabs"
    DISPLAY_NAME = "Lambda"
    HOMEPAGE = "https://lambda.ai"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = True  # every Lambda endpoint needs auth, instance-types included
    KIND = "provider"

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.lambdalabs}

    async def fetch_offers(self) -> FetchResult:
        client = LambdaClient(self.http, self.credentials["api_key"])
        return parse_instance_types(await client.instance_types())
