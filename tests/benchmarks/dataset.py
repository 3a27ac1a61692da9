"""Realistic synthetic offers: many sources, catalog GPUs, regions, spot and on-demand."""

from __future__ import annotations

import dataclasses
import random
from decimal import Decimal

from providers.base import Offer
from providers.gpus import GPUS

# Share of the offers per source: marketplaces list far more machines than clouds do.
SOURCE_WEIGHTS = {
    "vastai": 40, "runpod": 15, "tensordock": 12, "aws": 8, "azure": 8, "hyperstack": 5,
    "cudo": 5, "lambdalabs": 3, "verda": 2, "digitalocean": 2,
}
REGIONS = [
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "us-south-1", "ca-central-1", "eu-west-1",
    "eu-west-2", "eu-central-1", "eu-north-1", "EU-RO-1", "EU-SE-1", "ap-northeast-1", "ap-southeast-1",
    "ap-south-1", "sa-east-1", "NORWAY-1", "CANADA-1", "US-TX-3", "US-KS-2", "me-central-1", "af-south-1",
]
# Rough on-demand $/GPU-hour by family (only the order of magnitude matters here).
FAMILY_PRICE = {
    "gh200": 3.2, "h200": 3.8, "h100": 2.7, "b300": 6.0, "b200": 5.0, "a100x": 1.8, "a100": 1.5,
    "a10g": 1.0, "a10": 0.75, "a40": 0.6, "a30": 0.55, "a16": 0.4, "l40s": 0.95, "l40": 0.85,
    "l4": 0.45, "t4": 0.3, "v100": 0.5, "rtx-pro-6000": 1.6, "rtx-6000-ada": 0.85, "rtx-a6000": 0.5,
    "rtx-a5000": 0.3, "rtx-a4000": 0.2, "rtx-5090": 0.7, "rtx-4090": 0.4, "rtx-3090": 0.22,
    "mi325x": 2.6, "mi300x": 2.2,
}
UNKNOWN_NAMES = ["Tesla M60", "Quadro RTX 8000", "Radeon Pro W7900", "Gaudi 2"]
CENT = Decimal("0.01")


def generate(count: int, seed: int = 42, weights: dict[str, int] | None = None) -> list[Offer]:
    """``weights``: share of the offers per source (default ``SOURCE_WEIGHTS``)."""
    rng = random.Random(seed)
    gpus = list(GPUS.values())
    shares = weights or SOURCE_WEIGHTS
    sources = list(shares)
    weights = list(shares.values())
    offers = []
    for i in range(count):
        source = rng.choices(sources, weights)[0]
        spot = rng.random() < 0.3
        gpu_count = rng.choices([1, 2, 4, 8], [50, 20, 15, 15])[0]
        if rng.random() < 0.01:  # ~1% names the catalog does not know: kept, listed as unknown
            raw, memory, per_gpu = rng.choice(UNKNOWN_NAMES), rng.choice([12, 24, 48]), 0.5
        else:
            gpu = rng.choice(gpus)
            raw, memory, per_gpu = gpu.name, gpu.memory_gb, FAMILY_PRICE.get(gpu.family, 1.0)
        price = per_gpu * gpu_count * rng.uniform(0.7, 1.5) * (0.55 if spot else 1.0)
        offers.append(Offer(
            source=source, instance_type=f"{raw.lower().replace(' ', '-')}.{gpu_count}x.m{i}", gpu_raw_name=raw,
            gpu_count=Decimal(gpu_count), price_per_hour=max(CENT, Decimal(str(price)).quantize(CENT)),
            region=rng.choice(REGIONS), spot=spot, available=rng.random() > 0.1, gpu_memory_gb=memory,
            vcpus=8 * gpu_count, ram_gb=64 * gpu_count, disk_gb=rng.choice([100, 200, 500, 1000]),
            buy_url=f"https://{source}.example/pricing",
        ))
    return offers


def with_price_changes(offers: list[Offer], share: float = 0.05, seed: int = 7) -> tuple[list[Offer], int]:
    """The same offers with ``share`` of them repriced (what a typical re-poll brings)."""
    rng = random.Random(seed)
    changed = 0
    out = []
    for offer in offers:
        if rng.random() < share:
            factor = Decimal(str(rng.choice([0.9, 0.95, 1.05, 1.1])))
            offer = dataclasses.replace(offer, price_per_hour=max(CENT, (offer.price_per_hour * factor).quantize(CENT)))
            changed += 1
        out.append(offer)
    return out, changed


def by_source(offers: list[Offer]) -> dict[str, list[Offer]]:
    grouped: dict[str, list[Offer]] = {}
    for offer in offers:
        grouped.setdefault(offer.source, []).append(offer)
    return grouped
