"""Hot Aisle ``GET /teams/{team}/virtual_machines/available/`` -> offers: VMs available to rent now.

Documented at https://admin.hotaisle.app/api/docs (swagger.json in hotaisle/hotaisle-cli). Each item
is one VM shape: ``OnDemandPrice`` is integer US cents per hour for the whole VM; ``Specs``
lists its CPUs, RAM and disk in bytes, and its GPUs. The list is what can be rented now, so a
listed shape is available. Hot Aisle runs one site; the API does not name it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from providers.base import FetchResult, keep_cheapest, Offer
from providers.money import BadPrice, to_decimal

NAME = "hotaisle"
PRICING_URL = "https://hotaisle.xyz/pricing/"
REGION = "us-michigan-1"  # Hot Aisle's one data centre (Grand Rapids, MI)
_GIB = Decimal(1024**3)
# Hot Aisle names AMD models without their memory: GB per card from AMD's specs.
_CARD_MEMORY_GB = {"MI300X": 192, "MI325X": 256, "MI355X": 288}


def parse_available(items: list[Any]) -> FetchResult:
    result = FetchResult()
    seen: dict[str, Offer] = {}
    for item in items:
        try:
            offer = _offer_for(item)
        except (BadPrice, KeyError, TypeError, ValueError, IndexError) as exc:
            result.skip(NAME, _label(item), str(exc) or type(exc).__name__)
            continue
        if offer is None:
            continue
        # Several identical VMs free at once are one offer, at the lowest price listed.
        keep_cheapest(seen, offer)
    result.offers = list(seen.values())
    return result


def _offer_for(item: dict[str, Any]) -> Offer | None:
    specs = item["Specs"]
    gpus = specs["gpus"]
    if not gpus:
        return None
    if len(gpus) != 1:
        raise ValueError("more than one GPU model in one VM")
    count, model = gpus[0]["count"], gpus[0]["model"]
    if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
        raise ValueError(f"bad GPU count {count!r}")
    if not isinstance(model, str) or not model:
        raise ValueError("GPU model is empty")
    price = to_decimal(item["OnDemandPrice"]) / 100
    if price == 0:
        return None
    cores = specs["cpu_cores"]
    ram = int(to_decimal(specs["ram_capacity"]) / _GIB)
    disk = int(to_decimal(specs["disk_capacity"]) / _GIB)
    manufacturer = str(gpus[0].get("manufacturer") or "AMD")
    return Offer(
        source=NAME,
        instance_type=instance_type_of(specs),
        gpu_raw_name=f"{manufacturer} {model}",
        gpu_count=Decimal(count),
        price_per_hour=price,
        region=REGION,
        spot=False,
        available=True,
        gpu_memory_gb=_CARD_MEMORY_GB.get(model.upper()),
        vcpus=cores if isinstance(cores, int) else None,
        ram_gb=ram,
        disk_gb=disk,
        buy_url=PRICING_URL,
    )


def instance_type_of(specs: dict[str, Any]) -> str:
    """A VM shape's identity here, ``<count>x-<model>-<cores>c-<GiB RAM>g``: the offer's instance
    type, and how a launch finds the shape again in the available list."""
    gpu = specs["gpus"][0]
    ram = int(to_decimal(specs["ram_capacity"]) / _GIB)
    return f"{gpu['count']}x-{str(gpu['model']).lower()}-{specs['cpu_cores']}c-{ram}g"


def _label(item: Any) -> str:
    if isinstance(item, dict):
        gpus = (item.get("Specs") or {}).get("gpus") if isinstance(item.get("Specs"), dict) else None
        return f"VM {gpus!r}"[:80]
    return repr(item)[:80]
