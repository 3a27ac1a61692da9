"""Lambda `GET /instance-types` -> offers. Price is integer US cents per instance-hour."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from providers.base import FetchResult, Offer
from providers.money import BadPrice, to_decimal

NAME = "lambdalabs"
PRICING_URL = "https://lambda.ai/pricing"
# Lambda spells one GPU several ways: "H100 (80 GB SXM5)", "GH200 (96 GB)", "A100 (40 GB PCIe)",
# "8x NVIDIA H100 80GB SXM5", "1x H100 (80 GB SXM5)". The count comes from ``specs.gpus``; the
# description only names the GPU, so any leading "<n>x" is dropped and the memory read anywhere.
_COUNT_PREFIX = re.compile(r"^\s*\d+\s*[x\u00d7]\s+", re.IGNORECASE)
_MEMORY = re.compile(r"(?<![\w.])(\d{1,3})\s*(?:GB|GiB|G)(?![A-Za-z])", re.IGNORECASE)
# The type name carries the board where the description may not: gpu_8x_a100_80gb_sxm4
_TYPE_FORM_FACTOR = re.compile(r"_(sxm\d?|pcie|nvl)(?:_|$)", re.IGNORECASE)


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
    gpu_name, memory_gb = gpu_name_and_memory(itype)
    form = _TYPE_FORM_FACTOR.search(type_name)
    cents = to_decimal(itype["price_cents_per_hour"])
    price = cents / 100
    regions = entry.get("regions_with_capacity_available")
    if not isinstance(regions, list):
        raise ValueError("regions_with_capacity_available is not a list")
    common = dict(
        source=NAME,
        instance_type=type_name,
        gpu_raw_name=gpu_name,
        gpu_count=Decimal(gpus),
        price_per_hour=price,
        spot=False,
        gpu_memory_gb=memory_gb,
        vcpus=specs.get("vcpus"),
        ram_gb=specs.get("memory_gib"),
        disk_gb=specs.get("storage_gib"),
        buy_url=PRICING_URL,
        gpu_hint=form.group(1).upper() if form else "",
    )
    if not regions:
        # Sold out everywhere: still a published price, shown as unavailable.
        return [Offer(region="any", available=False, **common)]
    return [Offer(region=r["name"], available=True, **common) for r in regions]


def gpu_name_and_memory(itype: dict[str, Any]) -> tuple[str, int | None]:
    """The GPU's name without a count prefix, and its memory in GB when the text states it.

    A description in an unexpected format never drops the type: the name is kept as Lambda wrote
    it (the catalog then resolves it or lists it as unknown). Falls back to ``description`` and
    then to the type name when ``gpu_description`` is missing.
    """
    raw = itype.get("gpu_description") or itype.get("description") or itype.get("name")
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("instance type has no GPU description")
    name = _COUNT_PREFIX.sub("", raw).strip()
    memory = _MEMORY.search(name)
    return name, (int(memory.group(1)) if memory else None)
