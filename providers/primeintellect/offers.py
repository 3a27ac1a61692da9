"""Prime Intellect ``GET /api/v1/availability/gpus`` -> on-demand and spot offers of the clouds it resells.

Documented at https://docs.primeintellect.ai/api-reference/check-gpu-availability (OpenAPI at
https://api.primeintellect.ai/openapi.json), paged with ``page``/``page_size`` and answering
``{"items": [...], "totalCount": n}``. ``prices.onDemand`` (or ``communityPrice`` for community
offers) is USD per hour for the whole box; ``gpuType`` names card and memory ("H100_80GB");
``socket`` the board; ``stockStatus`` the stock; ``isSpot`` the market.

An offer is labelled with the cloud that runs it (``instance_type`` starts with ``provider``).
Clouds with their own source here, and clouds Shadeform documents reselling, are left out
(see ``providers.resold``), so one machine is never counted twice.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from typing import Any

from providers.base import FetchResult, keep_cheapest, Offer
from providers.money import BadPrice, to_decimal
from providers.resold import direct_source, resold_by_shadeform

NAME = "primeintellect"
PRICING_URL = "https://app.primeintellect.ai/dashboard/create-cluster"
_MEMORY = re.compile(r"_(\d+)GB$", re.IGNORECASE)  # "H100_80GB"
# stockStatus -> available now? Anything else is "not reported".
_STOCK = {"available": True, "high": True, "medium": True, "low": True,
          "unavailable": False, "out_of_stock": False, "sold_out": False}

# Prime Intellect spellings the GPU catalog would not read as the card they are.
_SPELLINGS = {"RTX_PRO_6000B": "RTX PRO 6000 Blackwell"}

log = logging.getLogger(__name__)


def parse_offers(items: list[Any]) -> FetchResult:
    result = FetchResult()
    cheapest: dict[str, Offer] = {}
    for item in items:
        try:
            offer = _offer_for(item)
        except (BadPrice, KeyError, TypeError, ValueError) as exc:
            label = (f"{item.get('provider')}/{item.get('gpuType')}x{item.get('gpuCount')}"
                     if isinstance(item, dict) else repr(item)[:80])
            result.skip(NAME, label, str(exc) or type(exc).__name__)
            continue
        if offer is None:
            continue
        # One box shape can be listed several times (upstream plan tokens): publish the cheapest.
        keep_cheapest(cheapest, offer)
    result.offers = list(cheapest.values())
    return result


def _offer_for(item: dict[str, Any]) -> Offer | None:
    provider, gpu_type, count = item["provider"], item["gpuType"], item["gpuCount"]
    if not isinstance(provider, str) or not provider or not isinstance(gpu_type, str) or not gpu_type:
        raise ValueError("provider or gpuType is empty")
    if (source := direct_source(provider)) is not None or resold_by_shadeform(provider):
        log.debug("%s: %s offers come from %s", NAME, provider, source or "shadeform")
        return None
    if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
        raise ValueError(f"bad gpuCount {count!r}")
    prices = item["prices"]
    currency = prices.get("currency") or "USD"
    if currency != "USD":
        raise ValueError(f"currency is {currency!r}, not USD")
    raw = prices.get("onDemand")
    if raw is None:
        raw = prices.get("communityPrice")
    price = to_decimal(raw)
    if price == 0:
        return None
    region = item.get("dataCenter") or item.get("country")
    if not isinstance(region, str) or not region:
        raise ValueError("neither dataCenter nor country")
    memory = _MEMORY.search(gpu_type)
    security = str(item.get("security") or "")
    stock = str(item.get("stockStatus") or "").strip().lower().replace(" ", "_")
    return Offer(
        source=NAME,
        instance_type=instance_type_of(provider, gpu_type, count, security),
        gpu_raw_name=_gpu_name(gpu_type),
        gpu_count=Decimal(count),
        price_per_hour=price,
        region=region,
        spot=item.get("isSpot") is True,
        available=_STOCK.get(stock),
        gpu_memory_gb=int(memory.group(1)) if memory else None,
        vcpus=_default_count(item.get("vcpu")),
        ram_gb=_default_count(item.get("memory")),
        disk_gb=_default_count(item.get("disk")),
        buy_url=PRICING_URL,
        gpu_hint=str(item.get("socket") or ""),  # "SXM5", "PCIe"
    )


def instance_type_of(provider: str, gpu_type: str, count: int, security: str) -> str:
    """``<cloud>/<gpuType>x<count>[/community]``: the offer's identity, and how a launch finds the
    availability item (its ``cloudId``) again."""
    return f"{provider}/{gpu_type}x{count}" + ("/community" if security == "community_cloud" else "")


def region_of(item: dict[str, Any]) -> str:
    return str(item.get("dataCenter") or item.get("country") or "")


def _default_count(resource: Any) -> int | None:
    value = resource.get("defaultCount") if isinstance(resource, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _gpu_name(gpu_type: str) -> str:
    """"H100_80GB" -> "H100 80GB"; "RTX_PRO_6000B_96GB" -> "RTX PRO 6000 Blackwell 96GB"."""
    for spelling, name in _SPELLINGS.items():
        if gpu_type.upper().startswith(spelling):
            gpu_type = name + gpu_type[len(spelling):]
    return gpu_type.replace("_", " ")
