"""Shadeform ``GET /v1/instances/types`` -> offers: instance types of the clouds it resells.

Documented at
https://docs.shadeform.ai/api-reference/instances/instances-types (OpenAPI in shadeform/docs).
``hourly_price`` is integer US cents for the whole instance; ``availability[]`` says per region
whether it can be launched now.

Shadeform is an aggregator: an offer is labelled with the cloud that runs the machine
(``instance_type`` is ``<cloud>/<cloud_instance_type>``), and offers from clouds ComputeHub
already polls directly (Lambda, RunPod, Verda/DataCrunch, ...) are left out, so one machine is
never counted twice.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from providers.base import FetchResult, Offer
from providers.money import BadPrice, to_decimal
from providers.resold import direct_source

NAME = "shadeform"
PRICING_URL = "https://www.shadeform.ai/"
# Shadeform's `interconnect` -> a board token the GPU catalog reads ("nvlink" boards are SXM).
_INTERCONNECT_HINT = {"pcie": "PCIe", "sxm": "SXM", "sxm4": "SXM", "sxm5": "SXM", "nvlink": "SXM"}

log = logging.getLogger(__name__)


def parse_instance_types(items: list[Any]) -> FetchResult:
    result = FetchResult()
    for item in items:
        try:
            result.offers.extend(_offers_for(item))
        except (BadPrice, KeyError, TypeError, ValueError) as exc:
            label = (f"{item.get('cloud')}/{item.get('cloud_instance_type')}" if isinstance(item, dict)
                     else repr(item)[:80])
            result.skip(NAME, label, str(exc) or type(exc).__name__)
    return result


def _offers_for(item: dict[str, Any]) -> list[Offer]:
    cloud, cloud_type = item["cloud"], item["cloud_instance_type"]
    if not isinstance(cloud, str) or not cloud or not isinstance(cloud_type, str) or not cloud_type:
        raise ValueError("cloud or cloud_instance_type is empty")
    if (source := direct_source(cloud)) is not None:
        log.debug("%s: %s/%s comes from the %s source", NAME, cloud, cloud_type, source)
        return []
    config = item["configuration"]
    gpus, vram = config["num_gpus"], config["vram_per_gpu_in_gb"]
    if not _positive_int(gpus):
        raise ValueError(f"bad num_gpus {gpus!r}")
    if not _positive_int(vram):
        raise ValueError(f"bad vram_per_gpu_in_gb {vram!r}")
    gpu_type = config["gpu_type"]
    if not isinstance(gpu_type, str) or not gpu_type:
        raise ValueError("gpu_type is empty")
    cents = to_decimal(item["hourly_price"])
    if cents == 0:
        return []
    availability = item["availability"]
    if not isinstance(availability, list):
        raise ValueError("availability is not a list")
    interconnect = str(config.get("interconnect") or "").lower()
    common = dict(
        source=NAME,
        instance_type=f"{cloud}/{cloud_type}",
        gpu_raw_name=gpu_type.replace("_", " "),  # "A100_80G" -> "A100 80G"
        gpu_count=Decimal(gpus),
        price_per_hour=cents / 100,
        spot=False,
        gpu_memory_gb=vram,
        vcpus=config.get("vcpus"),
        ram_gb=config.get("memory_in_gb"),
        disk_gb=config.get("storage_in_gb"),
        buy_url=PRICING_URL,
        gpu_hint=_INTERCONNECT_HINT.get(interconnect, ""),
        **_boot_time(item.get("boot_time")),
    )
    if not availability:
        return [Offer(region="any", available=False, **common)]
    by_region: dict[str, bool] = {}
    for entry in availability:
        region, available = entry["region"], entry["available"]
        if not isinstance(region, str) or not region or not isinstance(available, bool):
            raise ValueError(f"bad availability entry {entry!r}")
        if str(entry.get("rental_type") or "on_demand").lower() != "on_demand":
            continue  # `hourly_price` is the on-demand price; a spot entry carries no price of its own
        # A region listed twice (e.g. per rental type) is one offer: available if either says so.
        by_region[region] = by_region.get(region, False) or available
    return [Offer(region=region, available=available, **common) for region, available in by_region.items()]


def _boot_time(raw: object) -> dict[str, int]:
    """``boot_time`` ({"min_boot_in_sec", "max_boot_in_sec"}) as the offer's published boot time. It
    is optional and says nothing about the price: a missing or malformed one leaves the boot time
    unknown rather than losing the offer."""
    if not isinstance(raw, dict):
        return {}
    low, high = raw.get("min_boot_in_sec"), raw.get("max_boot_in_sec")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)) or not 0 <= low <= high:
        return {}
    return {"boot_seconds_min": low, "boot_seconds_max": high}


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
