"""Koyeb (serverless GPUs): instance types and hourly prices from the public catalog.

``GET https://app.koyeb.com/v1/catalog/instances`` (``ListCatalogInstances`` in Koyeb's
OpenAPI, https://www.koyeb.com/docs/api), paged with ``limit``/``offset`` and a total ``count``.
``price_hourly`` is a USD decimal string for the whole instance; ``gpu`` gives the card's name,
count and memory. The catalog is read without a key; a configured key is sent as Bearer.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from providers.base import FetchResult, Offer, PriceBasis, PriceSource
from providers.errors import BadResponse
from providers.http import request_json
from providers.money import BadPrice, to_decimal

NAME = "koyeb"
BASE_URL = "https://app.koyeb.com/v1/catalog/instances"
PRICING_URL = "https://www.koyeb.com/pricing#gpu"
PAGE_SIZE = 100
MAX_PAGES = 20  # a few dozen instance types in all
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(MB|GB|TB)\s*$", re.IGNORECASE)
_PER_GB = {"MB": Decimal(1) / 1000, "GB": Decimal(1), "TB": Decimal(1000)}


class KoyebSource(PriceSource):
    NAME = NAME
    DISPLAY_NAME = "Koyeb"
    HOMEPAGE = "https://www.koyeb.com"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = False
    PRICE_BASIS = PriceBasis.INSTANCE
    PRICE_INCLUDES = ('The instance type per hour: its GPUs, vCPUs, RAM and disk.')
    POLL_INTERVAL_SECONDS = 6 * 3600  # published list prices

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.get("koyeb")}

    async def fetch_offers(self) -> FetchResult:
        headers = {"Authorization": f"Bearer {self.credentials['api_key']}"} if self.credentials.get("api_key") else {}
        items: list[Any] = []
        for page in range(MAX_PAGES):
            params = {"limit": str(PAGE_SIZE), "offset": str(page * PAGE_SIZE)}
            body = await request_json(self.http, "GET", BASE_URL, provider=NAME, params=params, headers=headers)
            if not isinstance(body, dict) or not isinstance(body.get("instances", []), list):
                raise BadResponse("response has no `instances` list", provider=NAME)
            if "instances" not in body and {"code", "message", "error"} & body.keys():
                # an error envelope behind a 200 (an empty list may be left out of the JSON)
                raise BadResponse(f"error instead of instances: {body.get('message') or body.get('error')}",
                                  provider=NAME)
            instances = body.get("instances", [])
            items.extend(instances)
            total = body.get("count")
            if total is not None and (isinstance(total, bool) or not isinstance(total, int)):
                raise BadResponse("count is not an integer", provider=NAME)
            if not instances or total is None or len(items) >= total:
                return parse_instances(items)
        raise BadResponse(f"more than {MAX_PAGES} pages of instance types; stopped", provider=NAME)


def parse_instances(items: list[Any]) -> FetchResult:
    result = FetchResult()
    for item in items:
        try:
            result.offers.extend(_offers_for(item))
        except (BadPrice, KeyError, TypeError, ValueError) as exc:
            label = item.get("id") if isinstance(item, dict) else repr(item)[:80]
            result.skip(NAME, str(label), str(exc) or type(exc).__name__)
    return result


def size_gb(text: Any) -> int | None:
    """"44GB" -> 44; Koyeb writes sizes as strings with a unit. None when absent."""
    if text in (None, ""):
        return None
    match = _SIZE.match(str(text))
    if not match:
        raise ValueError(f"size {text!r} not in the <number><MB|GB|TB> form")
    return int(Decimal(match.group(1)) * _PER_GB[match.group(2).upper()])


def _offers_for(item: dict[str, Any]) -> list[Offer]:
    gpu = item.get("gpu")
    if item.get("type") != "gpu" and not (isinstance(gpu, dict) and gpu.get("count")):
        return []  # CPU instance types
    count, name = gpu["count"], gpu["name"]
    if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
        raise ValueError(f"bad gpu.count {count!r}")
    if not isinstance(name, str) or not name:
        raise ValueError("gpu.name is empty")
    price = to_decimal(item["price_hourly"])
    if price == 0:
        return []
    regions = item["regions"]
    if not isinstance(regions, list) or not all(isinstance(r, str) and r for r in regions):
        raise ValueError(f"bad regions {regions!r}")
    brand = str(gpu.get("brand") or "")
    common = dict(
        source=NAME,
        instance_type=item["id"],
        gpu_raw_name=f"{brand} {name}".strip() if brand.lower() not in name.lower() else name,
        gpu_count=Decimal(count),
        price_per_hour=price,
        spot=False,
        gpu_memory_gb=size_gb(gpu.get("memory")),
        vcpus=_int_or_none(item.get("vcpu")),
        ram_gb=size_gb(item.get("memory")),
        disk_gb=size_gb(item.get("disk")),
        buy_url=PRICING_URL,
    )
    if not regions:
        return [Offer(region="any", available=False, **common)]
    return [Offer(region=region, **common) for region in regions]


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
