"""Lambda `GET /instance-types` -> offers. Price is integer US cents per instance-hour."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from providers.base import FetchResult, Offer
from providers.money import BadPrice, to_decimal

NAME = "lambdalabs"
PRICING_URL = "https://lambda.ai/pricing"
# "H100 (80 GB SXM5)" -> name, memory, form factor
_GPU_DESCRIPTION = re.compile(r"^(?P<name>.+?)\s*\((?P<mem>\d+)\s*GB(?:\s+(?P<ff>[\w-]+))?\)\s*$")


def parse_instance_types(data: Any) -> FetchResult:
    result = FetchResult()
    if not isinstance(data, dict):
        from providers.errors import BadResponse

        raise BadResponse("`data` is not an object of instance types", provider=NAME)
    for type_name, entry in data.items():
        try:
            result.offers.extend(_offers_for(type_name, entry))
        except (BadPrice, KeyError, TypeError, ValueError) as exc:
            result.skip(NAME, type_name, str(exc) or type(exc).__name__)
    return result


def _offers_for(type_name: str, entry: dict) -> list[Offer]:
    itype = entry["instance_type"]
    specs = itype["specs"]
    gpus = specs["gpus"]
    if not isinstance(gpus, int) or gpus <= 0:
        raise ValueError(f"bad GPU count {gpus!r}")
    match = _GPU_DESCRIPTION.match(itype["gpu_description"])
    if not match:
        raise ValueError(f"unparsed gpu_description {itype['gpu_description']!r}")
    cents = to_decimal(itype["price_cents_per_hour"])
    price = cents / 100
    regions = entry.get("regions_with_capacity_available")
    if not isinstance(regions, list):
        raise ValueError("regions_with_capacity_available is not a list")
    common = dict(
        source=NAME,
        instance_type=type_name,
        gpu_raw_name=itype["gpu_description"],
        gpu_count=Decimal(gpus),
        price_per_hour=price,
        spot=False,
        gpu_memory_gb=int(match.group("mem")),
        vcpus=specs.get("vcpus"),
        ram_gb=specs.get("memory_gib"),
        disk_gb=specs.get("storage_gib"),
        buy_url=PRICING_URL,
    )
    if not regions:
        # Sold out everywhere: still a published price, shown as unavailable.
        return [Offer(region="any", available=False, **common)]
    return [Offer(region=r["name"], available=True, **common) for r in regions]
