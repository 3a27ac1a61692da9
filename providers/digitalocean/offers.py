"""DigitalOcean `GET /sizes` -> GPU Droplet offers, one per region the size is sold in.

``price_hourly`` is USD for the whole Droplet. ``gpu_info.vram.amount`` is the total across
the Droplet's GPUs (``gpu-h100x8-640gb`` says 640, ``gpu-mi300x8-1536gb`` says 1536), so the
per-GPU memory is amount / count. There is no spot market.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from providers.base import FetchResult, Offer
from providers.money import BadPrice, to_decimal

NAME = "digitalocean"
PRICING_URL = "https://www.digitalocean.com/pricing/gpu-droplets"
# 8-GPU H100/H200 Droplets are HGX boards, i.e. SXM (reference §17, unconfirmed by DO).
# A 1-GPU H100 Droplet does not say which card it is, so it stays plain "H100".
_HGX_MODELS = {"nvidia_h100", "nvidia_h200"}
_HGX_GPU_COUNT = 8
_GIB_UNITS = {"gib", "gb"}


def parse_sizes(sizes: list) -> FetchResult:
    result = FetchResult()
    seen: set[str] = set()
    for size in sizes:
        if not isinstance(size, dict):
            result.skip(NAME, "?", "size is not an object")
            continue
        slug = size.get("slug")
        if slug in seen:
            continue  # the same size on two pages: the list shifted between page requests
        try:
            offers = _offers_for(size)
        except (BadPrice, KeyError, TypeError, ValueError) as exc:
            result.skip(NAME, str(slug or "?"), str(exc) or type(exc).__name__)
            continue
        if slug:
            seen.add(slug)
        result.offers.extend(offers)
    return result


def _offers_for(size: dict) -> list[Offer]:
    gpu_info = size.get("gpu_info")
    if not gpu_info:
        return []  # CPU-only size: not a GPU offer
    count = gpu_info["count"]
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ValueError(f"bad gpu_info.count {count!r}")
    if count == 0:
        return []
    model = gpu_info["model"]
    if not isinstance(model, str) or not model:
        raise ValueError(f"bad gpu_info.model {model!r}")
    regions = size["regions"]
    if not isinstance(regions, list):
        raise ValueError("regions is not a list")
    common = dict(
        source=NAME,
        instance_type=size["slug"],
        gpu_raw_name=model,
        gpu_count=Decimal(count),
        price_per_hour=to_decimal(size["price_hourly"]),
        spot=False,
        gpu_memory_gb=_per_gpu_memory(gpu_info, count),
        vcpus=_whole(size.get("vcpus")),
        ram_gb=_whole(size.get("memory"), divisor=1024),  # `memory` is MB
        disk_gb=_whole(size.get("disk")),
        buy_url=PRICING_URL,
        gpu_hint="HGX" if model in _HGX_MODELS and count == _HGX_GPU_COUNT else "",
    )
    if not regions or size.get("available") is False:
        # Not sold anywhere right now: still a published price, shown as unavailable.
        return [Offer(region="any", available=False, **common)]
    return [Offer(region=str(region), available=True, **common) for region in regions]


def _per_gpu_memory(gpu_info: dict, count: int) -> int | None:
    vram = gpu_info.get("vram")
    if not isinstance(vram, dict) or str(vram.get("unit", "")).lower() not in _GIB_UNITS:
        return None
    amount = vram.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, (int, Decimal)) or amount <= 0:
        return None
    return round(Decimal(amount) / count)


def _whole(value: Any, divisor: int = 1) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    return int(value // divisor)
