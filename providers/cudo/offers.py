"""CUDO `GET /vms/machine-types` -> one 1-GPU offer per (data center, machine type, GPU model).

CUDO prices each resource separately, in USD per unit-hour (``{"value": "<decimal>"}``), and
lets the buyer pick the vCPU and RAM amounts within per-machine-type limits. The offer is the
cheapest valid 1-GPU shape: fewest vCPUs, then least RAM, plus a ``BOOT_DISK_GIB`` boot disk
and one IPv4 address.
"""

from __future__ import annotations

from decimal import Decimal
from math import ceil, floor

from providers.base import FetchResult, Offer
from providers.gpus import resolve_gpu
from providers.money import BadPrice, to_decimal

NAME = "cudo"
PRICING_URL = "https://www.cudocompute.com/pricing"
BOOT_DISK_GIB = 100  # the disk size gpuhunt priced CUDO with; the API gives no minimum
_SEARCH_WITHOUT_CAP = 256  # vCPU steps to try when a machine type sets no maxVcpuPerGpu


def parse_machine_types(items: list) -> FetchResult:
    result = FetchResult()
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            result.skip(NAME, "?", "machine type is not an object")
            continue
        label = f"{item.get('dataCenterId', '?')}/{item.get('machineType', '?')}/{item.get('gpuModel', '?')}"
        try:
            offer = _offer_for(item)
            if offer is not None and offer.offer_key in seen:
                raise ValueError("listed twice")
        except (BadPrice, KeyError, TypeError, ValueError) as exc:
            result.skip(NAME, label, str(exc) or type(exc).__name__)
            continue
        if offer is not None:
            seen.add(offer.offer_key)
            result.offers.append(offer)
    return result


def _offer_for(item: dict) -> Offer | None:
    gpu_model = item.get("gpuModel") or ""
    gpu_model_id = item.get("gpuModelId") or gpu_model
    if not gpu_model:
        return None  # CPU-only machine type: not a GPU offer
    vcpus, memory_gib = smallest_shape(item)
    price = (
        to_decimal(item["gpuPriceHr"])
        + vcpus * to_decimal(item["vcpuPriceHr"])
        + memory_gib * to_decimal(item["memoryGibPriceHr"])
        + BOOT_DISK_GIB * to_decimal(item["minStorageGibPriceHr"])
        + to_decimal(item["ipv4PriceHr"])
    )
    canonical = resolve_gpu(gpu_model)  # the API gives no GPU memory; the model name implies it
    free = item.get("totalGpuFree")
    return Offer(
        source=NAME,
        # One machine type can host several GPU models, so the model is part of the identity.
        instance_type=f"{item['machineType']}/{gpu_model_id}",
        gpu_raw_name=gpu_model,
        gpu_count=Decimal(1),
        price_per_hour=price,
        region=item["dataCenterId"],
        available=free > 0 if isinstance(free, int) else None,
        gpu_memory_gb=canonical.memory_gb if canonical else None,
        vcpus=vcpus,
        ram_gb=memory_gib,
        disk_gb=BOOT_DISK_GIB,
        buy_url=PRICING_URL,
    )


def smallest_shape(item: dict) -> tuple[int, int]:
    """(vCPUs, GiB RAM) of the cheapest 1-GPU VM the machine type's limits allow.

    Limits: vCPUs per GPU in [minVcpuPerGpu, maxVcpuPerGpu], vCPUs per GiB RAM in
    [minVcpuPerMemoryGib, maxVcpuPerMemoryGib], and the floors minVcpu / minMemoryGib.
    """
    per_gpu_min, per_gpu_max = _limit(item, "minVcpuPerGpu"), _limit(item, "maxVcpuPerGpu")
    per_gib_min, per_gib_max = _limit(item, "minVcpuPerMemoryGib"), _limit(item, "maxVcpuPerMemoryGib")
    first = max(1, ceil(per_gpu_min), ceil(_limit(item, "minVcpu")))
    last = floor(per_gpu_max) if per_gpu_max else first + _SEARCH_WITHOUT_CAP
    memory_floor = max(1, ceil(_limit(item, "minMemoryGib")))
    for vcpus in range(first, last + 1):
        memory = max(memory_floor, ceil(vcpus / per_gib_max)) if per_gib_max else memory_floor
        if vcpus >= memory * per_gib_min:
            return vcpus, memory
    raise ValueError("no vCPU/RAM shape fits the machine type's limits")


def _limit(item: dict, key: str) -> Decimal:
    """A shape limit; absent or 0 means no limit (gRPC-gateway JSON may omit zero values)."""
    value = item.get(key) or 0
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or value < 0:
        raise ValueError(f"bad {key} {value!r}")
    return Decimal(value)
