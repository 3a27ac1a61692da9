"""Google Cloud: attached-GPU prices from the Cloud Billing Catalog API (operator API key).

``GET https://cloudbilling.googleapis.com/v1/services/6F81-5844-456A/skus`` (Compute Engine),
documented at https://cloud.google.com/billing/docs/reference/rest/v1/services.skus/list.
GPU SKUs are priced per GPU-hour for the accelerator alone: the machine's vCPUs and RAM are
billed apart, so these are GPU-only prices (like RunPod's), not whole-VM prices.
"""

from __future__ import annotations

from providers.base import FetchResult, PriceBasis, PriceSource
from scrapers.gcp.client import BillingCatalogClient
from scrapers.gcp.offers import PRICING_URL, parse_skus


class GcpSource(PriceSource):
    NAME = "gcp"
    DISPLAY_NAME = "Google Cloud"
    HOMEPAGE = "https://cloud.google.com"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = True  # the Catalog API needs an API key from a project with it enabled
    PRICE_BASIS = PriceBasis.GPU_ONLY
    PRICE_INCLUDES = ("Google's accelerator SKU: the GPU alone, per GPU-hour; the machine type's vCPUs, RAM and disk are billed apart.")
    POLL_INTERVAL_SECONDS = 6 * 3600  # list prices; the walk is several 5000-SKU pages

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.get("gcp")}

    async def fetch_offers(self) -> FetchResult:
        return parse_skus(await BillingCatalogClient(self.http, self.credentials["api_key"]).compute_skus())
