"""TensorDock `GET /locations` -> one 1-GPU offer per (location, GPU model).

TensorDock bills GPU, vCPU, RAM and storage separately. ``price_per_hr`` is read as USD per
GPU-hour *without* CPU/RAM/disk (unconfirmed: the docs show it next to a separate ``pricing``
block of per-unit rates). A VM cannot be deployed without vCPUs, RAM and at least 100 GB of
storage, so the offer price is the smallest deployable shape: 1 GPU + ``MIN_VCPUS`` vCPUs +
``MIN_RAM_GB`` GB RAM + ``MIN_STORAGE_GB`` GB disk, each at the location's own unit rate.
"""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal

from providers.base import FetchResult, Offer
from providers.money import BadPrice, to_decimal

NAME = "tensordock"
PRICING_URL = "https://tensordock.com/"  # no dedicated v2 pricing page confirmed
MIN_STORAGE_GB = 100  # documented minimum for instance creation
MIN_VCPUS = 2  # the smallest shape in the docs' own instance-creation example
MIN_RAM_GB = 4
_MEMORY = re.compile(r"-(\d+)gb$")  # "h100-sxm5-80gb"


def parse_locations(locations: list) -> FetchResult:
    result = FetchResult()
    usable = []
    for index, location in enumerate(locations):
        if isinstance(location, dict) and isinstance(location.get("gpus"), list):
            usable.append(location)
        else:
            result.skip(NAME, f"location #{index}", "no `gpus` list")
    for location, region in zip(usable, _region_labels(usable)):
        for gpu in location["gpus"]:
            label = f"{region}/{gpu.get('v0Name', '?') if isinstance(gpu, dict) else '?'}"
            try:
                result.offers.append(_offer_for(gpu, region))
            except (BadPrice, KeyError, TypeError, ValueError) as exc:
                result.skip(NAME, label, str(exc) or type(exc).__name__)
    return result


def _region_labels(locations: list[dict]) -> list[str]:
    """A readable region per location ("Austin, United States"); the id is added where a city repeats."""
    places = [
        ", ".join(str(part) for part in (loc.get("city"), loc.get("country")) if part) or str(loc.get("id"))
        for loc in locations
    ]
    repeated = {place for place, count in Counter(places).items() if count > 1}
    return [f"{place} ({loc.get('id')})" if place in repeated else place for place, loc in zip(places, locations)]


def _offer_for(gpu: dict, region: str) -> Offer:
    v0_name = gpu["v0Name"]
    if not isinstance(v0_name, str) or not v0_name:
        raise ValueError(f"bad v0Name {v0_name!r}")
    max_count = gpu["max_count"]
    if not isinstance(max_count, int) or isinstance(max_count, bool) or max_count < 0:
        raise ValueError(f"bad max_count {max_count!r}")
    rates = gpu["pricing"]
    price = (
        to_decimal(gpu["price_per_hr"])
        + MIN_VCPUS * to_decimal(rates["per_vcpu_hr"])
        + MIN_RAM_GB * to_decimal(rates["per_gb_ram_hr"])
        + MIN_STORAGE_GB * to_decimal(rates["per_gb_storage_hr"])
    )
    memory = _MEMORY.search(v0_name)
    return Offer(
        source=NAME,
        instance_type=v0_name,
        gpu_raw_name=gpu.get("displayName") or v0_name,
        gpu_count=Decimal(1),
        price_per_hour=price,
        region=region,
        available=max_count > 0,
        gpu_memory_gb=int(memory.group(1)) if memory else None,
        vcpus=MIN_VCPUS,
        ram_gb=MIN_RAM_GB,
        disk_gb=MIN_STORAGE_GB,
        buy_url=PRICING_URL,
        gpu_hint=v0_name,  # carries the form factor when displayName omits it
    )
