"""RunPod GraphQL `gpuTypes` -> offers. Prices are USD per GPU-hour, one list price per cloud.

RunPod has two clouds with separate prices: Secure Cloud (RunPod's datacenters) and
Community Cloud (vetted hosts). `gpuTypes` gives no datacenter per price, so the cloud is
the region. A price of 0 or null means "not sold in that cloud", which is not an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from providers.base import FetchResult, Offer
from providers.money import BadPrice, to_decimal

NAME = "runpod"
PRICING_URL = "https://www.runpod.io/pricing"
# One offer per GPU type: pods are priced linearly per GPU, so 1x carries the whole price list.
GPU_COUNT = Decimal(1)


@dataclass(frozen=True, slots=True)
class _Cloud:
    name: str
    region: str
    sold_flag: str
    on_demand_field: str
    spot_field: str


CLOUDS = (
    _Cloud("secure", "secure-cloud", "secureCloud", "securePrice", "secureSpotPrice"),
    _Cloud("community", "community-cloud", "communityCloud", "communityPrice", "communitySpotPrice"),
)


def parse_gpu_types(gpu_types: list[Any]) -> FetchResult:
    result = FetchResult()
    for entry in gpu_types:
        label = entry.get("id") if isinstance(entry, dict) else None
        try:
            result.offers.extend(_offers_for(entry, result))
        except KeyError as exc:
            result.skip(NAME, str(label or entry)[:100], f"missing field {exc}")
        except (TypeError, ValueError) as exc:
            result.skip(NAME, str(label or entry)[:100], str(exc) or type(exc).__name__)
    return result


def _offers_for(entry: dict, result: FetchResult) -> list[Offer]:
    gpu_id = entry["id"]
    if not isinstance(gpu_id, str) or not gpu_id:
        raise ValueError(f"bad GPU type id {gpu_id!r}")
    memory = entry.get("memoryInGb")
    display_name = entry.get("displayName")
    offers = []
    for cloud in CLOUDS:
        sold = entry[cloud.sold_flag]
        if not isinstance(sold, bool):
            raise ValueError(f"{cloud.sold_flag} is {sold!r}, not a boolean")
        if not sold:
            # The price fields can hold a placeholder (e.g. communityPrice 0.5) for a cloud
            # that does not sell this GPU: the flag decides, never the price.
            continue
        for spot, field in ((False, cloud.on_demand_field), (True, cloud.spot_field)):
            try:
                per_gpu = _list_price(entry.get(field))
            except BadPrice as exc:
                # A bad price loses only its own market; the type's other prices stay good.
                result.skip(NAME, f"{gpu_id} ({field})", str(exc))
                continue
            if per_gpu is None:
                continue
            offers.append(Offer(
                source=NAME,
                instance_type=f"{gpu_id}|{cloud.name}",
                gpu_raw_name=gpu_id,
                gpu_count=GPU_COUNT,
                price_per_hour=per_gpu * GPU_COUNT,
                region=cloud.region,
                spot=spot,
                gpu_memory_gb=memory if isinstance(memory, int) and memory > 0 else None,
                buy_url=PRICING_URL,
                gpu_hint=display_name if isinstance(display_name, str) else "",
            ))
    return offers


def _list_price(raw: object) -> Decimal | None:
    """Per-GPU-hour price, or None where RunPod does not sell that market (0 or null)."""
    if raw is None:
        return None
    price = to_decimal(raw)
    return price if price > 0 else None
