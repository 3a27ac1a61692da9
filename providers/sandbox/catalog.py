"""What the simulated cloud sells: instance types, regions and hourly prices (USD per instance)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

REGIONS = ("sandbox-eu-1", "sandbox-us-1")


@dataclass(frozen=True, slots=True)
class InstanceType:
    name: str
    gpu_name: str
    gpu_count: int
    gpu_memory_gb: int
    vcpus: int
    ram_gb: int
    disk_gb: int
    on_demand: Decimal
    spot: Decimal | None
    regions: tuple[str, ...] = REGIONS

    def price(self, spot: bool) -> Decimal | None:
        return self.spot if spot else self.on_demand


INSTANCE_TYPES: dict[str, InstanceType] = {
    t.name: t
    for t in (
        InstanceType("sbx.h100.1x", "H100 SXM", 1, 80, 26, 225, 1000, Decimal("2.49"), Decimal("1.29")),
        InstanceType("sbx.h100.8x", "H100 SXM", 8, 80, 208, 1800, 8000, Decimal("19.92"), Decimal("10.32")),
        InstanceType("sbx.a100.1x", "A100 SXM", 1, 80, 30, 200, 512, Decimal("1.29"), Decimal("0.79")),
        InstanceType("sbx.a100.8x", "A100 SXM", 8, 80, 240, 1600, 4096, Decimal("10.32"), Decimal("6.32")),
        InstanceType("sbx.rtx4090.1x", "RTX 4090", 1, 24, 16, 64, 200, Decimal("0.39"), Decimal("0.24")),
        # Only one region and no spot market: the console must cope with both.
        InstanceType("sbx.l40s.1x", "L40S", 1, 48, 16, 128, 512, Decimal("0.89"), None, ("sandbox-us-1",)),
    )
}


def offers_json() -> list[dict]:
    """The body of ``GET /v1/offers``: one row per type, region and market."""
    rows = []
    for itype in INSTANCE_TYPES.values():
        for region in itype.regions:
            for spot in (False, True):
                price = itype.price(spot)
                if price is None:
                    continue
                rows.append({
                    "instance_type": itype.name,
                    "region": region,
                    "spot": spot,
                    "price_per_hour": str(price),
                    "currency": "USD",
                    "available": True,
                    "gpu": {"name": itype.gpu_name, "count": itype.gpu_count, "memory_gb": itype.gpu_memory_gb},
                    "vcpus": itype.vcpus,
                    "ram_gb": itype.ram_gb,
                    "disk_gb": itype.disk_gb,
                })
    return rows
