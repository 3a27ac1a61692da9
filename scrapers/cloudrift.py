"""CloudRift (GPU VMs): instance types, per-datacenter stock and hourly prices, public.

``POST https://api.cloudrift.ai/api/v1/instance-types/list`` (CloudRift's REST API, documented at
https://api.cloudrift.ai/docs; every call is an envelope ``{"version": <API date>, "data": ...}``
both ways). We ask for the ``vm`` service everywhere. Each instance type names its card in
``brand_short`` and lists ``variants`` (1, 2, 4, 8 GPUs ...): ``cost_per_hour`` is integer US cents
for the whole VM; ``dram``, ``vram`` (per card) and ``disk`` are bytes; ``nodes_per_dc`` maps a
datacenter to how many nodes can take the variant now (0: listed but full). The list is read
without a key; a configured key is sent as ``X-API-Key``. One call, no paging.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from providers.base import FetchResult, Offer, PriceBasis, PriceSource
from providers.errors import BadResponse
from providers.http import request_json
from providers.money import BadPrice, to_decimal

NAME = "cloudrift"
URL = "https://api.cloudrift.ai/api/v1/instance-types/list"
API_VERSION = "2025-03-21"
PRICING_URL = "https://www.cloudrift.ai/pricing"
_GIB = 1024**3


class CloudRiftSource(PriceSource):
    NAME = NAME
    DISPLAY_NAME = "CloudRift"
    HOMEPAGE = "https://www.cloudrift.ai"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = False
    PRICE_BASIS = PriceBasis.INSTANCE
    PRICE_INCLUDES = ('The whole VM variant per hour: its GPUs, RAM and disk.')
    POLL_INTERVAL_SECONDS = 900  # stock per datacenter changes as VMs are rented

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.get("cloudrift")}

    async def fetch_offers(self) -> FetchResult:
        headers = {"X-API-Key": self.credentials["api_key"]} if self.credentials.get("api_key") else {}
        payload = {"version": API_VERSION, "data": {"selector": {"ByServiceAndLocation": {"services": ["vm"]}}}}
        body = await request_json(self.http, "POST", URL, provider=NAME, json=payload, headers=headers)
        if isinstance(body, str):  # the API answers some refusals with a bare JSON string
            raise BadResponse(f"error instead of instance types: {body[:200]}", provider=NAME)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("instance_types"), list):
            raise BadResponse("response has no `data.instance_types` list", provider=NAME)
        return parse_instance_types(data["instance_types"])


def parse_instance_types(items: list[Any]) -> FetchResult:
    result = FetchResult()
    for item in items:
        variants = item.get("variants") if isinstance(item, dict) else None
        if not isinstance(variants, list):
            result.skip(NAME, _label(item), "no `variants` list")
            continue
        for variant in variants:
            try:
                result.offers.extend(_offers_for(item, variant))
            except (BadPrice, KeyError, TypeError, ValueError) as exc:
                label = variant.get("name") if isinstance(variant, dict) else repr(variant)[:80]
                result.skip(NAME, str(label), str(exc) or type(exc).__name__)
    return result


def _offers_for(item: dict[str, Any], variant: dict[str, Any]) -> list[Offer]:
    count = variant["gpu_count"]
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"bad gpu_count {count!r}")
    if count == 0:
        return []  # CPU-only variants
    brand = item["brand_short"]
    if not isinstance(brand, str) or not brand.strip():
        raise ValueError("brand_short is empty")
    cents = variant["cost_per_hour"]
    if isinstance(cents, bool) or not isinstance(cents, int | Decimal):
        raise BadPrice(f"cost_per_hour {cents!r} is not a number of cents")
    price = to_decimal(cents) / 100
    if price == 0:
        return []
    nodes = variant["nodes_per_dc"]
    if not isinstance(nodes, dict):
        raise ValueError(f"bad nodes_per_dc {nodes!r}")
    vram = _bytes_to_gb(variant.get("vram"))
    common = dict(
        source=NAME,
        instance_type=str(variant["name"]),
        gpu_raw_name=brand.strip(),
        gpu_count=Decimal(count),
        price_per_hour=price,
        spot=False,
        gpu_memory_gb=vram,
        vcpus=_int_or_none(variant.get("logical_cpu_count")) or _int_or_none(variant.get("cpu_count")),
        ram_gb=_bytes_to_gb(variant.get("dram")),
        disk_gb=_bytes_to_gb(variant.get("disk")),
        buy_url=PRICING_URL,
    )
    if not nodes:
        return [Offer(region="any", available=False, **common)]
    offers = []
    for dc, free in nodes.items():
        if not isinstance(dc, str) or not dc:
            raise ValueError(f"bad datacenter name {dc!r}")
        available = (free > 0) if isinstance(free, int) and not isinstance(free, bool) else None
        offers.append(Offer(region=dc, available=available, **common))
    return offers


def _bytes_to_gb(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or value <= 0:
        return None
    return round(Decimal(value) / _GIB)


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _label(item: object) -> str:
    return str(item.get("name")) if isinstance(item, dict) else repr(item)[:80]
