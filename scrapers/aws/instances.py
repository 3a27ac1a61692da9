"""EC2 GPU instance types -> the GPUs inside them. The price list gives a GPU count but never
the GPU model or its memory, so the model comes from this table (AWS instance-type pages).

Previous-generation families (p2, p3, g3) and the fractional g6f are left out on purpose;
types not listed here are not GPU offers for this scraper.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class InstanceGpu:
    raw_name: str
    count: Decimal
    memory_gb: int
    hint: str = ""


def _family(family: str, raw_name: str, memory_gb: int, sizes: dict[str, int], hint: str = "") -> dict:
    return {f"{family}.{size}": InstanceGpu(raw_name, Decimal(count), memory_gb, hint)
            for size, count in sizes.items()}


# g5/g6/g6e share one size ladder: one GPU up to 16xlarge, four at 12x/24xlarge, eight at 48xlarge.
_G_SIZES = {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1,
            "12xlarge": 4, "24xlarge": 4, "48xlarge": 8}

GPU_INSTANCES: dict[str, InstanceGpu] = {
    **_family("p4d", "A100", 40, {"24xlarge": 8}, "SXM"),
    **_family("p4de", "A100", 80, {"24xlarge": 8}, "SXM"),
    **_family("p5", "H100", 80, {"4xlarge": 1, "48xlarge": 8}, "SXM"),
    **_family("p5e", "H200", 141, {"48xlarge": 8}, "SXM"),
    **_family("p5en", "H200", 141, {"48xlarge": 8}, "SXM"),
    **_family("p6-b200", "B200", 180, {"48xlarge": 8}),
    **_family("g5", "A10G", 24, _G_SIZES),
    **_family("g6", "L4", 24, _G_SIZES),
    **_family("g6e", "L40S", 48, _G_SIZES),
    # Graviton2 (arm64) hosts with NVIDIA T4G cards.
    **_family("g5g", "T4G", 16, {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 2, "metal": 2}),
    **_family("g4dn", "T4", 16, {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1,
                                 "12xlarge": 4, "metal": 8}),
}
