"""JarvisLabs (GPU instances in India and Europe): per-GPU prices and free cards per region (key).

``GET https://backendn.jarvislabs.net/misc/server_meta`` with ``Authorization: Bearer <key>``: the
call JarvisLabs' own SDK and CLI (``jarvislabs``, https://docs.jarvislabs.ai) make to list what can
be rented. ``server_meta`` has one row per card type, region and workload (``vm``, ``container``;
older VM rows say ``null``): ``price_per_hour`` and ``spot_price`` are USD **per GPU**-hour (spot
only for containers), ``num_gpus`` is the most cards one instance takes, ``num_free_devices`` /
``effective_num_free_devices`` / ``spot_num_free_devices`` how many are free now, ``vram`` GB per
card (a string), ``cpus_per_gpu`` and ``ram_per_gpu`` (GB) scale with the card count. One call,
no paging; ``cpu_meta`` (CPU-only machines) is not read.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from providers.base import FetchResult, Offer, PriceBasis, PriceSource
from providers.errors import BadResponse
from providers.http import request_json
from providers.money import BadPrice, to_decimal

NAME = "jarvislabs"
URL = "https://backendn.jarvislabs.net/misc/server_meta"
PRICING_URL = "https://jarvislabs.ai/pricing"
MAX_GPUS = 16  # a sanity bound on num_gpus; JarvisLabs machines hold 8 cards


class JarvisLabsSource(PriceSource):
    NAME = NAME
    DISPLAY_NAME = "JarvisLabs"
    HOMEPAGE = "https://jarvislabs.ai"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = True
    PRICE_BASIS = PriceBasis.INSTANCE
    PRICE_INCLUDES = ('Per-GPU rate for an instance whose vCPUs and RAM scale with the GPU count (cpus_per_gpu, ram_per_gpu); storage is billed apart.')
    POLL_INTERVAL_SECONDS = 900  # free cards per region change as instances start and stop

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.get("jarvislabs")}

    async def fetch_offers(self) -> FetchResult:
        body = await request_json(
            self.http, "GET", URL, provider=NAME,
            headers={"Authorization": f"Bearer {self.credentials['api_key']}", "Accept": "application/json"},
        )
        if not isinstance(body, dict) or not isinstance(body.get("server_meta"), list):
            detail = body.get("detail") or body.get("message") if isinstance(body, dict) else None
            raise BadResponse("response has no `server_meta` list" + (f": {detail}" if detail else ""),
                              provider=NAME)
        return parse_server_meta(body["server_meta"])


def parse_server_meta(rows: list[Any]) -> FetchResult:
    result = FetchResult()
    seen: set[str] = set()
    for row in rows:
        try:
            offers = _offers_for(row)
        except (BadPrice, KeyError, TypeError, ValueError) as exc:
            result.skip(NAME, _label(row), str(exc) or type(exc).__name__)
            continue
        for offer in offers:
            if offer.offer_key not in seen:  # a row repeated verbatim is one offer
                seen.add(offer.offer_key)
                result.offers.append(offer)
    return result


def _offers_for(row: dict[str, Any]) -> list[Offer]:
    gpu_type, region = row["gpu_type"], row["region"]
    if not isinstance(gpu_type, str) or not gpu_type.strip():
        raise ValueError("gpu_type is empty")
    if not isinstance(region, str) or not region.strip():
        raise ValueError("region is empty")
    workload = row.get("workload_type") or "vm"
    if workload not in ("vm", "container"):
        return []  # a workload we cannot describe as an instance
    price = to_decimal(row["price_per_hour"])
    max_gpus = _count(row["num_gpus"], "num_gpus")
    if not 1 <= max_gpus <= MAX_GPUS:
        raise ValueError(f"num_gpus {max_gpus} out of range")
    spot_price = row.get("spot_price")
    markets: list[tuple[bool, Decimal, int | None]] = []
    if price > 0:
        markets.append((False, price, _free(row, "effective_num_free_devices", "num_free_devices")))
    if workload == "container" and spot_price is not None and to_decimal(spot_price) > 0:
        markets.append((True, to_decimal(spot_price), _free(row, "spot_num_free_devices")))
    cpus, ram = _per_gpu(row.get("cpus_per_gpu")), _per_gpu(row.get("ram_per_gpu"))
    vram = _per_gpu(row.get("vram"))
    offers = []
    for spot, per_gpu, free in markets:
        for count in range(1, max_gpus + 1):
            offers.append(Offer(
                source=NAME,
                instance_type=f"{gpu_type.strip()} x{count} {workload}",
                gpu_raw_name=gpu_type.strip(),
                gpu_count=Decimal(count),
                price_per_hour=per_gpu * count,
                region=region.strip(),
                spot=spot,
                available=None if free is None else free >= count,
                gpu_memory_gb=vram,
                vcpus=cpus * count if cpus else None,
                ram_gb=ram * count if ram else None,
                buy_url=PRICING_URL,
            ))
    return offers


def _count(value: object, field: str) -> int:
    """JarvisLabs writes counts as numbers or numeric strings ("8")."""
    if isinstance(value, bool):
        raise ValueError(f"bad {field} {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise ValueError(f"bad {field} {value!r}")


def _free(row: dict[str, Any], *fields: str) -> int | None:
    """Free cards now: the first of ``fields`` that is stated; None when none is."""
    for field in fields:
        if row.get(field) is not None:
            return _count(row[field], field)
    return None


def _per_gpu(value: object) -> int | None:
    try:
        return _count(value, "size") or None
    except ValueError:
        if isinstance(value, Decimal) and value > 0:
            return int(value)
        return None


def _label(row: object) -> str:
    if isinstance(row, dict):
        return f"{row.get('gpu_type')}@{row.get('region')}"
    return repr(row)[:80]
