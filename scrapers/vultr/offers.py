"""Vultr plans -> offers. ``hourly_cost`` is USD per plan-hour (the whole plan).

Cloud GPU plans (type ``vcg``) give the GPU model and the plan's VRAM: a plan with less VRAM
than one card is a slice, priced as a fractional ``gpu_count`` (VRAM / card memory). Bare-metal
plans name their GPUs only inside the id ("vbm-112c-2048gb-8-h100-gpu").
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from providers.base import FetchResult, Offer
from providers.gpus import find_by_name
from providers.money import BadPrice, to_decimal

NAME = "vultr"
PRICING_URL = "https://www.vultr.com/pricing/#cloud-gpu"

# Vultr's cloud A100 and H100 are the 80 GB cards; the catalog also knows smaller ones.
_CARD_MEMORY_GB = {"a100": 80, "h100": 80}
_BARE_METAL_ID = re.compile(r"^vbm-\d+c-\d+gb-(?:(?P<count>\d+)-)?(?P<model>[a-z0-9]+)-gpu$")
# GPU token in a bare-metal id -> (raw name, GB per GPU). "l40" is the L40S (gpuhunt's table);
# an unknown token is kept under its own name, never dropped.
_BARE_METAL_GPUS = {
    "h100": ("NVIDIA HGX H100", 80),
    "a100": ("NVIDIA A100", 80),
    "l40": ("NVIDIA L40S", 48),
    "gh200": ("NVIDIA GH200", 96),
    "mi300x": ("AMD MI300X", 192),
    "mi325x": ("AMD MI325X", 256),
}


def parse_plans(cloud_gpu: list[Any], bare_metal: list[Any]) -> FetchResult:
    result = FetchResult()
    for plans, to_offers in ((cloud_gpu, _cloud_gpu_offers), (bare_metal, _bare_metal_offers)):
        for plan in plans:
            try:
                result.offers.extend(to_offers(plan))
            except (BadPrice, KeyError, TypeError, ValueError) as exc:
                label = plan.get("id") if isinstance(plan, dict) else repr(plan)[:80]
                result.skip(NAME, str(label), str(exc) or type(exc).__name__)
    return result


def card_memory_gb(gpu_type: str) -> int | None:
    """Memory of one whole card of this model, when the catalog (or Vultr's fleet) pins it."""
    matches = find_by_name(gpu_type)
    if not matches:
        return None
    if matches[0].family in _CARD_MEMORY_GB:
        return _CARD_MEMORY_GB[matches[0].family]
    sizes = {gpu.memory_gb for gpu in matches}
    return sizes.pop() if len(sizes) == 1 else None


def _cloud_gpu_offers(plan: dict[str, Any]) -> list[Offer]:
    if plan["type"] != "vcg":
        return []
    gpu_type, vram = plan["gpu_type"], plan["gpu_vram_gb"]
    if not isinstance(gpu_type, str) or not isinstance(vram, int) or vram <= 0:
        raise ValueError(f"bad gpu_type/gpu_vram_gb {gpu_type!r}/{vram!r}")
    card = card_memory_gb(gpu_type)
    if card is None:
        raise ValueError(f"card memory of {gpu_type} unknown: cannot tell a slice from whole cards")
    count = Decimal(vram) / Decimal(card)
    if count > 1 and count != count.to_integral_value():
        raise ValueError(f"{vram} GB of VRAM is not a whole number of {card} GB cards")
    price = to_decimal(plan["hourly_cost"])
    if price == 0:
        return []  # free plans are not offers
    common = dict(
        instance_type=plan["id"],
        gpu_raw_name=gpu_type,
        gpu_count=count,
        price_per_hour=price,
        gpu_memory_gb=card,
        vcpus=plan.get("vcpu_count"),
        ram_gb=plan["ram"] // 1024,  # MB
        disk_gb=plan.get("disk"),
        gpu_hint=f"fractional GPU: {vram} GB of a {card} GB card" if count < 1 else "",
    )
    return _per_location(plan, common, spot=False)


def _bare_metal_offers(plan: dict[str, Any]) -> list[Offer]:
    plan_id = plan["id"]
    if "gpu" not in plan_id:
        return []  # CPU-only server
    match = _BARE_METAL_ID.match(plan_id)
    if not match:
        raise ValueError("GPU plan id not in the vbm-<cpu>c-<ram>gb-<count>-<gpu>-gpu form")
    model = match.group("model")
    raw_name, memory_gb = _BARE_METAL_GPUS.get(model, (model.upper(), None))
    common = dict(
        instance_type=plan_id,
        gpu_raw_name=raw_name,
        gpu_count=Decimal(match.group("count") or 1),
        gpu_memory_gb=memory_gb,
        vcpus=plan.get("cpu_threads"),
        ram_gb=plan["ram"] // 1024,  # MB
    )
    offers = _per_location(plan, {**common, "price_per_hour": to_decimal(plan["hourly_cost"])}, spot=False)
    preemptible = plan.get("hourly_cost_preemptible")
    if preemptible is not None and to_decimal(preemptible) > 0:
        offers += _per_location(plan, {**common, "price_per_hour": to_decimal(preemptible)}, spot=True)
    return offers


def _per_location(plan: dict[str, Any], common: dict[str, Any], *, spot: bool) -> list[Offer]:
    locations = plan["locations"]
    if not isinstance(locations, list):
        raise ValueError("locations is not a list")
    base = dict(source=NAME, spot=spot, buy_url=PRICING_URL, **common)
    if not locations:
        # Listed but deployable nowhere right now: keep the price, shown as unavailable.
        return [Offer(region="any", available=False, **base)]
    return [Offer(region=location, **base) for location in locations]
