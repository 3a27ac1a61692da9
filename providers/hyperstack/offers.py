"""Hyperstack flavors + pricebook -> offers.

A flavor names its GPU model (``gpu``) and count; the pricebook prices each model in USD
per GPU-hour, as a number or a string (``"1.9"``, ``"0E-9"``). Spot flavors use their own
GPU name with a ``-spot`` suffix, priced by the pricebook row of the same name.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from providers.base import FetchResult, Offer
from providers.money import BadPrice, to_decimal

NAME = "hyperstack"
PRICING_URL = "https://www.hyperstack.cloud/gpu-pricing"
SPOT_SUFFIX = "-spot"
_MEMORY = re.compile(r"(?<![A-Za-z0-9])(\d+)G(?:B)?(?![A-Za-z0-9])", re.IGNORECASE)  # "H100-80G-PCIe"


def pricebook_rates(entries: list) -> dict[str, Any]:
    """Pricebook name -> raw `value`. Parsed per flavor, so one bad rate only skips its flavors."""
    rates: dict[str, Any] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            rates.setdefault(entry["name"], entry.get("value"))
    return rates


def parse_flavors(groups: list, rates: dict[str, Any]) -> FetchResult:
    result = FetchResult()
    for index, group in enumerate(groups):
        if not isinstance(group, dict) or not isinstance(group.get("flavors"), list):
            result.skip(NAME, f"flavor group #{index}", "no `flavors` list")
            continue
        for flavor in group["flavors"]:
            if not isinstance(flavor, dict):
                result.skip(NAME, f"flavor in group #{index}", "not an object")
                continue
            label = str(flavor.get("name", "?"))
            try:
                offer = _offer_for(flavor, group, rates)
            except (BadPrice, KeyError, TypeError, ValueError) as exc:
                result.skip(NAME, label, str(exc) or type(exc).__name__)
                continue
            if offer is not None:
                result.offers.append(offer)
    return result


def _offer_for(flavor: dict, group: dict, rates: dict[str, Any]) -> Offer | None:
    gpu_count = flavor["gpu_count"]
    if not isinstance(gpu_count, int) or isinstance(gpu_count, bool) or gpu_count < 0:
        raise ValueError(f"bad gpu_count {gpu_count!r}")
    gpu = flavor.get("gpu") or ""
    if gpu_count == 0 or not gpu:
        return None  # CPU-only flavor: not a GPU offer
    if gpu not in rates:
        raise ValueError(f"no pricebook entry for GPU {gpu!r}")
    per_gpu = to_decimal(rates[gpu])
    if per_gpu == 0:
        raise ValueError(f"pricebook price for GPU {gpu!r} is zero")
    spot = gpu.endswith(SPOT_SUFFIX)
    model = gpu.removesuffix(SPOT_SUFFIX)
    memory = _MEMORY.search(model)
    stock = flavor.get("stock_available")
    return Offer(
        source=NAME,
        instance_type=flavor["name"],
        gpu_raw_name=model,
        gpu_count=Decimal(gpu_count),
        price_per_hour=per_gpu * gpu_count,
        region=flavor.get("region_name") or group["region_name"],
        spot=spot,
        available=stock if isinstance(stock, bool) else None,
        gpu_memory_gb=int(memory.group(1)) if memory else None,
        vcpus=_whole(flavor.get("cpu")),
        ram_gb=_whole(flavor.get("ram")),
        disk_gb=_whole(flavor.get("disk")),
        buy_url=PRICING_URL,
    )


def _whole(value: Any) -> int | None:
    """Specs arrive as int or float (`ram: 180.0`); they are informative, so unknown is fine."""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return int(value)
    return None
