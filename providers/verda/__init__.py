"""Verda (formerly DataCrunch): offers now; the instance lifecycle lands with the console."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from providers.base import FetchResult, PriceSource
from providers.verda.client import VerdaClient
from providers.verda.offers import PRICING_URL, parse_instance_types


class VerdaSource(PriceSource):
    NAME = "verda"
    DISPLAY_NAME = "Verda"
    HOMEPAGE = "https://verda.com"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = True  # every endpoint, price list included, needs an OAuth2 token
    CREDENTIAL_FIELDS = ("client_id", "client_secret")  # an OAuth2 client, not one API key
    KIND = "provider"

    def __init__(self, http: httpx.AsyncClient, credentials: Mapping[str, str] | None = None) -> None:
        super().__init__(http, credentials)
        # One client per source: all of its calls share one OAuth2 token.
        self.client = VerdaClient(
            http, self.credentials.get("client_id", ""), self.credentials.get("client_secret", "")
        )

    @classmethod
    def credentials_from_settings(cls, settings):
        keys = settings.provider_keys
        return {"client_id": keys.verda_client_id, "client_secret": keys.verda_client_secret}

    @classmethod
    def test_credentials(cls) -> dict[str, str]:
        return {"client_id": "test-client-id-not-real", "client_secret": "test-client-secret-not-real"}

    async def fetch_offers(self) -> FetchResult:
        instance_types = await self.client.instance_types()
        on_demand = await self.client.availability(spot=False)
        spot = await self.client.availability(spot=True)
        return parse_instance_types(instance_types, on_demand, spot)
