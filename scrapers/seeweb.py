"""Seeweb Cloud Server GPU (Italy): plans with hourly EUR prices, converted to USD at the ECB rate (key).

``GET https://api.seeweb.it/ecs/v2/plans`` with ``X-APITOKEN: <token>`` (Seeweb's ECS API v2, the one
its ``ecsapi`` SDK wraps; https://www.seeweb.it/en/products/cloud-server-gpu). The answer is
``{"status": "ok", "plans": [...]}``; a plan gives ``gpu`` (a count, as a string), ``gpu_label``
(card and memory, e.g. ``"L4 24GB"``), ``cpu``, ``ram`` (MB) and ``disk`` (GB) as strings,
``hourly_price`` in EUR for the whole server, ``available`` (the plan is sold; not a capacity
signal) and ``available_regions`` (``{"location": "it-fr2", ...}``). One call, no paging.

Prices are EUR; each one is converted with the ECB's daily reference rate (``providers.fx``) and
keeps its EUR amount and the rate's date on the offer.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from providers.base import FetchResult, Offer, PriceBasis, PriceSource
from providers.errors import BadResponse
from providers.fx import FxRate, ecb_rate
from providers.http import request_json
from providers.money import BadPrice, to_decimal

NAME = "seeweb"
URL = "https://api.seeweb.it/ecs/v2/plans"
CURRENCY = "EUR"
PRICING_URL = "https://www.seeweb.it/en/products/cloud-server-gpu"
_MEMORY = re.compile(r"\b(\d+)\s*GB\b", re.IGNORECASE)


class SeewebSource(PriceSource):
    NAME = NAME
    DISPLAY_NAME = "Seeweb"
    HOMEPAGE = "https://www.seeweb.it"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = True
    PRICE_BASIS = PriceBasis.INSTANCE
    PRICE_INCLUDES = ('The whole cloud server plan per hour: its GPUs, vCPUs, RAM and disk.')
    POLL_INTERVAL_SECONDS = 6 * 3600  # list prices; the EUR rate changes once a day

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.get("seeweb")}

    async def fetch_offers(self) -> FetchResult:
        body = await request_json(
            self.http, "GET", URL, provider=NAME,
            headers={"X-APITOKEN": self.credentials["api_key"], "Accept": "application/json"},
        )
        if not isinstance(body, dict) or not isinstance(body.get("plans"), list):
            message = body.get("message") or body.get("error") if isinstance(body, dict) else None
            raise BadResponse("response has no `plans` list" + (f": {message}" if message else ""), provider=NAME)
        if body.get("status") not in (None, "ok"):
            raise BadResponse(f"status {body.get('status')!r} instead of ok", provider=NAME)
        plans = body["plans"]
        if not any(isinstance(p, dict) and _gpu_count(p) for p in plans):
            return FetchResult()  # nothing to convert: no need for a rate
        rate = await ecb_rate(self.http, CURRENCY, provider=NAME)
        return parse_plans(plans, rate)


def parse_plans(plans: list[Any], rate: FxRate) -> FetchResult:
    result = FetchResult()
    for plan in plans:
        try:
            result.offers.extend(_offers_for(plan, rate))
        except (BadPrice, KeyError, TypeError, ValueError) as exc:
            label = plan.get("name") if isinstance(plan, dict) else repr(plan)[:80]
            result.skip(NAME, str(label), str(exc) or type(exc).__name__)
    return result


def _gpu_count(plan: dict[str, Any]) -> int:
    raw = plan.get("gpu")
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    return int(raw) if isinstance(raw, str) and raw.strip().isdigit() else 0


def _offers_for(plan: dict[str, Any], rate: FxRate) -> list[Offer]:
    count = _gpu_count(plan)
    if count <= 0 or plan.get("available") is False:
        return []  # CPU plans, and plans no longer sold
    label = plan["gpu_label"]
    if not isinstance(label, str) or not label.strip():
        raise ValueError("gpu_label is empty")
    eur = to_decimal(plan["hourly_price"])
    if eur == 0:
        return []
    usd, conversion = rate.convert(eur)
    regions = plan["available_regions"]
    if not isinstance(regions, list):
        raise ValueError(f"bad available_regions {regions!r}")
    locations = []
    for region in regions:
        location = region.get("location") if isinstance(region, dict) else None
        if not isinstance(location, str) or not location.strip():
            raise ValueError(f"bad region {region!r}")
        if location.strip() not in locations:
            locations.append(location.strip())
    memory = _MEMORY.search(label)
    ram_mb = _int_or_none(plan.get("ram"))
    common = dict(
        source=NAME,
        instance_type=str(plan["name"]),
        gpu_raw_name=_MEMORY.sub("", label).strip(),
        gpu_count=Decimal(count),
        price_per_hour=usd,
        spot=False,
        gpu_memory_gb=int(memory.group(1)) if memory else None,
        vcpus=_int_or_none(plan.get("cpu")),
        ram_gb=ram_mb // 1024 if ram_mb else None,
        disk_gb=_int_or_none(plan.get("disk")),
        buy_url=PRICING_URL,
        converted_from=conversion,
    )
    if not locations:
        return [Offer(region="any", available=False, **common)]
    return [Offer(region=location, **common) for location in locations]


def _int_or_none(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value or None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value) or None
    return None
