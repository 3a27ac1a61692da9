"""RunPod: offers now; the pod lifecycle (REST v2) lands with the console."""

from __future__ import annotations

from providers.base import FetchResult, PriceSource
from providers.runpod.client import RunPodClient
from providers.runpod.offers import PRICING_URL, parse_gpu_types


class RunPodSource(PriceSource):
    NAME = "runpod"
    DISPLAY_NAME = "RunPod"
    HOMEPAGE = "https://www.runpod.io"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = False  # the GraphQL `gpuTypes` prices are public; a key is sent when set
    KIND = "provider"

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.runpod}

    async def fetch_offers(self) -> FetchResult:
        client = RunPodClient(self.http, self.credentials.get("api_key", ""))
        return parse_gpu_types(await client.gpu_types())
