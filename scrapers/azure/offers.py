"""Azure Retail Prices items -> offers. ``retailPrice`` is USD per VM-hour (the whole VM)."""

from __future__ import annotations

import logging
import re
from typing import Any

from providers.base import FetchResult, keep_cheapest, Offer
from providers.money import BadPrice, to_decimal
from scrapers.azure.series import VM_GPUS

NAME = "azure"
PRICING_URL = "https://azure.microsoft.com/pricing/details/virtual-machines/linux/"

log = logging.getLogger(__name__)

# Market markers, which Azure puts in `meterName`, in `skuName`, or in both ("NC24ads_A100_v4 Spot").
_SPOT = re.compile(r"\bspot\b", re.IGNORECASE)
_LOW_PRIORITY = re.compile(r"\blow[ _-]?priority\b", re.IGNORECASE)
_MARKER_FIELDS = ("meterName", "skuName")


def _marked(item: dict[str, Any], marker: re.Pattern[str]) -> bool:
    return any(marker.search(str(item.get(field) or "")) for field in _MARKER_FIELDS)


def parse_items(items: list[Any]) -> FetchResult:
    result = FetchResult()
    cheapest: dict[str, Offer] = {}
    for item in items:
        try:
            offer = _offer_for(item)
        except (BadPrice, KeyError, TypeError, ValueError) as exc:
            result.skip(NAME, _label(item), str(exc) or type(exc).__name__)
            continue
        if offer is None:
            continue
        # $skip paging can show an item twice if the list shifts mid-walk, and a size can have
        # more than one Linux meter in a region: publish each offer once, at its lowest price.
        keep_cheapest(cheapest, offer)
    result.offers = list(cheapest.values())
    return result


def _is_linux_pay_as_you_go(item: dict[str, Any]) -> bool:
    product = str(item.get("productName", ""))
    return (
        item.get("type") == "Consumption"
        and "Windows" not in product
        and "Dedicated" not in product
        and not _marked(item, _LOW_PRIORITY)  # retired low-priority VMs; Spot replaced them
    )


def _offer_for(item: Any) -> Offer | None:
    if not isinstance(item, dict):
        raise TypeError("item is not an object")
    if not _is_linux_pay_as_you_go(item):
        return None
    sku = item["armSkuName"]
    gpu = VM_GPUS.get(sku)
    if gpu is None:
        log.debug("%s: %s is not in the GPU size table; ignored", NAME, sku)
        return None
    if item["currencyCode"] != "USD":
        raise ValueError(f"currency is {item['currencyCode']!r}, not USD")
    if item["unitOfMeasure"] != "1 Hour":
        raise ValueError(f"unit is {item['unitOfMeasure']!r}, not 1 Hour")
    price = to_decimal(item["retailPrice"])
    if price == 0:
        return None  # placeholder meters priced 0 are not offers
    region = item["armRegionName"]
    if not isinstance(region, str) or not region:
        raise ValueError("armRegionName is empty")
    return Offer(
        source=NAME,
        instance_type=sku,
        gpu_raw_name=gpu.raw_name,
        gpu_count=gpu.count,
        price_per_hour=price,
        region=region,
        spot=_marked(item, _SPOT),
        gpu_memory_gb=gpu.memory_gb,
        buy_url=PRICING_URL,
        gpu_hint=gpu.hint,
    )


def _label(item: Any) -> str:
    if isinstance(item, dict):
        return f"{item.get('armSkuName')} {item.get('armRegionName')} ({item.get('meterName')})"
    return repr(item)[:80]
