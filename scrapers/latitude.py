"""Latitude.sh: GPU bare-metal plans and their hourly prices per site (operator key).

``GET https://api.latitude.sh/plans?filter[gpu]=true`` (JSON:API, documented at
https://docs.latitude.sh/reference/get-plans), following ``links.next`` when there is one.
Each plan lists, per region, ``pricing.USD.hour`` for the whole server and the sites where
it is deployable (``locations.available``) and in stock now (``locations.in_stock``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from providers.base import FetchResult, Offer, PriceBasis, PriceSource
from providers.errors import BadResponse
from providers.http import request_json
from providers.money import BadPrice, to_decimal

NAME = "latitude"
API_HOST = "api.latitude.sh"
BASE_URL = f"https://{API_HOST}/plans"
PRICING_URL = "https://www.latitude.sh/pricing"
MAX_PAGES = 20


class LatitudeSource(PriceSource):
    NAME = NAME
    DISPLAY_NAME = "Latitude.sh"
    HOMEPAGE = "https://www.latitude.sh"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = True
    PRICE_BASIS = PriceBasis.INSTANCE
    PRICE_INCLUDES = ('The whole bare-metal server per hour: its GPUs, CPUs, RAM and disks.')
    POLL_INTERVAL_SECONDS = 3600  # list prices with stock per site

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.get("latitude")}

    async def fetch_offers(self) -> FetchResult:
        headers = {"Authorization": f"Bearer {self.credentials['api_key']}", "Accept": "application/json"}
        url: str = BASE_URL
        params: dict[str, str] | None = {"filter[gpu]": "true"}
        plans: list[Any] = []
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            body = await request_json(self.http, "GET", url, provider=NAME, headers=headers, params=params)
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                errors = body.get("errors") if isinstance(body, dict) else None
                raise BadResponse("response has no `data` list" + (f": {errors}"[:200] if errors else ""),
                                  provider=NAME)
            plans.extend(body["data"])
            next_url = (body.get("links") or {}).get("next") if isinstance(body.get("links"), dict) else None
            if not next_url:
                return parse_plans(plans)
            if not isinstance(next_url, str) or httpx.URL(next_url).host != API_HOST:
                raise BadResponse("links.next does not point at the Latitude API", provider=NAME)
            if next_url in seen:
                raise BadResponse("links.next repeats (pagination loop)", provider=NAME)
            seen.add(next_url)
            url, params = next_url, None
        raise BadResponse(f"more than {MAX_PAGES} pages of plans; stopped", provider=NAME)


def parse_plans(plans: list[Any]) -> FetchResult:
    result = FetchResult()
    for plan in plans:
        try:
            result.offers.extend(_offers_for(plan))
        except (BadPrice, KeyError, TypeError, ValueError, AttributeError) as exc:
            attrs = plan.get("attributes") if isinstance(plan, dict) else None
            label = (attrs or {}).get("slug") if isinstance(attrs, dict) else repr(plan)[:80]
            result.skip(NAME, str(label), str(exc) or type(exc).__name__)
    return result


def _offers_for(plan: dict[str, Any]) -> list[Offer]:
    attrs = plan["attributes"]
    specs = attrs["specs"]
    gpu = specs.get("gpu") or {}
    count = gpu.get("count") or 0
    if count == 0:
        return []  # CPU server
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"bad gpu.count {count!r}")
    gpu_name, slug = gpu["type"], attrs["slug"]
    if not isinstance(gpu_name, str) or not gpu_name or not isinstance(slug, str) or not slug:
        raise ValueError("gpu.type or slug is empty")
    cpu = specs.get("cpu") or {}
    cores, sockets = cpu.get("cores"), cpu.get("count") or 1
    vram = gpu.get("vram_per_gpu")
    common = dict(
        source=NAME,
        instance_type=slug,
        gpu_raw_name=gpu_name,
        gpu_count=Decimal(count),
        spot=False,  # Latitude.sh has no spot market
        gpu_memory_gb=vram if isinstance(vram, int) and not isinstance(vram, bool) else None,
        vcpus=cores * sockets if isinstance(cores, int) and isinstance(sockets, int) else None,
        ram_gb=(specs.get("memory") or {}).get("total"),
        buy_url=PRICING_URL,
    )
    offers = []
    for region in attrs["regions"]:
        hour = ((region.get("pricing") or {}).get("USD") or {}).get("hour")
        if hour is None:
            continue  # not sold in USD there
        price = to_decimal(hour)
        if price == 0:
            continue
        locations = region.get("locations") or {}
        in_stock = [s for s in locations.get("in_stock") or [] if isinstance(s, str) and s]
        deployable = [s for s in locations.get("available") or [] if isinstance(s, str) and s]
        # In stock now; deployable there but out of stock; a priced region with no site at all.
        placements = [(s, True) for s in in_stock] + [(s, False) for s in deployable if s not in in_stock]
        if not placements:
            placements = [(str(region.get("name") or "any"), False)]
        offers.extend(Offer(region=site, available=available, price_per_hour=price, **common)
                      for site, available in placements)
    return offers
