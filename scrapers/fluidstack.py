"""FluidStack: per-GPU-hour prices from the legacy platform API (operator key required).

FluidStack's current Atlas API (``https://<region>.atlas.fluidstack.io/api/v1alpha1``) lists
instance types and capacity but publishes no prices, so this source reads the legacy
``GET https://platform.fluidstack.io/list_available_configurations`` (header ``api-key``).
It is legacy: it may stop working whenever FluidStack retires that API.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from providers.base import FetchResult, Offer, PriceBasis, PriceSource
from providers.errors import BadResponse
from providers.http import request_json
from providers.money import BadPrice, to_decimal

NAME = "fluidstack"
BASE_URL = "https://platform.fluidstack.io"
PRICING_URL = "https://www.fluidstack.io/pricing"
_MEMORY = re.compile(r"_(\d+)GB$")  # "H100_SXM5_80GB"


class FluidStackSource(PriceSource):
    NAME = NAME
    DISPLAY_NAME = "FluidStack"
    HOMEPAGE = "https://www.fluidstack.io"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = True  # the legacy configurations list needs an api-key
    PRICE_BASIS = PriceBasis.INSTANCE
    PRICE_INCLUDES = ('The listed configuration per hour (per-GPU rate x GPUs) with the vCPUs and RAM it states.')

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.fluidstack}

    async def fetch_offers(self) -> FetchResult:
        body = await request_json(
            self.http, "GET", f"{BASE_URL}/list_available_configurations", provider=NAME,
            headers={"api-key": self.credentials["api_key"]},
        )
        if not isinstance(body, list):  # e.g. {"detail": "..."} behind a 200
            detail = (body.get("detail") or body.get("message")) if isinstance(body, dict) else None
            raise BadResponse("expected a list of configurations" + (f": {detail}" if detail else ""),
                              provider=NAME)
        return parse_configurations(body)


def parse_configurations(configurations: list[Any]) -> FetchResult:
    """One offer per (GPU type, GPU count, region); ``price_per_gpu_hr`` is USD per GPU-hour."""
    result = FetchResult()
    for config in configurations:
        try:
            result.offers.extend(_offers_for(config))
        except (BadPrice, KeyError, TypeError, ValueError) as exc:
            label = config.get("gpu_type") if isinstance(config, dict) else repr(config)[:80]
            result.skip(NAME, str(label), str(exc) or type(exc).__name__)
    return result


def _offers_for(config: dict[str, Any]) -> list[Offer]:
    gpu_type = config["gpu_type"]
    if not isinstance(gpu_type, str) or not gpu_type:
        raise ValueError("gpu_type is empty")
    per_gpu = to_decimal(config["price_per_gpu_hr"])
    counts, regions = config["gpu_counts"], config["regions"]
    if not isinstance(counts, list) or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0
                                               for n in counts):
        raise ValueError(f"bad gpu_counts {counts!r}")
    if not isinstance(regions, list) or not all(isinstance(r, str) and r for r in regions):
        raise ValueError(f"bad regions {regions!r}")
    memory = _MEMORY.search(gpu_type)
    # Listed regions are where the configuration is available now; none means sold out.
    placements = [(region, True) for region in regions] or [("any", False)]
    return [
        Offer(
            source=NAME,
            instance_type=f"{gpu_type}.{count}x",
            gpu_raw_name=gpu_type,
            gpu_count=Decimal(count),
            price_per_hour=per_gpu * count,
            region=region,
            available=available,
            gpu_memory_gb=int(memory.group(1)) if memory else None,
            buy_url=PRICING_URL,
        )
        for count in counts
        for region, available in placements
    ]
