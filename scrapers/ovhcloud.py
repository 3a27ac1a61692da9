"""OVHcloud Public Cloud: GPU instance prices from the public order catalog (no key).

``GET https://eu.api.ovh.com/v1/order/catalog/public/cloud?ovhSubsidiary=WE`` (the
``/order/catalog/public/cloud`` call of the OVHcloud API, https://eu.api.ovh.com/console/),
priced in USD for the WE subsidiary. Each instance flavor is an *addon* of the ``project``
plan's ``instance`` family; its ``.consumption`` variant is billed per hour with ``price`` in
1e-8 currency units; ``blobs.technical.gpu`` describes the cards and ``configurations``
(region) lists where the flavor can be ordered. Local-zone / 3-AZ variants and Windows
flavors are other products and are left out.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from providers.base import FetchResult, Offer, PriceBasis, PriceSource
from providers.errors import BadResponse
from providers.http import request_json
from providers.money import BadPrice, to_decimal

NAME = "ovhcloud"
CATALOG_URL = "https://eu.api.ovh.com/v1/order/catalog/public/cloud"
SUBSIDIARY = "WE"  # priced in USD
PRICING_URL = "https://www.ovhcloud.com/en/public-cloud/prices/#gpu"
PRICE_UNIT = Decimal(100_000_000)  # catalog prices are in 1e-8 of the currency
_HOURLY_SUFFIX = ".consumption"
_OTHER_PRODUCTS = (".LZ", ".3AZ")  # local-zone and multi-AZ variants
log = logging.getLogger(__name__)


class OvhCloudSource(PriceSource):
    NAME = NAME
    DISPLAY_NAME = "OVHcloud"
    HOMEPAGE = "https://www.ovhcloud.com"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = False
    PRICE_BASIS = PriceBasis.INSTANCE
    PRICE_INCLUDES = ('The instance flavor per hour: its GPUs, vCPUs, RAM and local disk.')
    POLL_INTERVAL_SECONDS = 6 * 3600  # list prices; one large catalog document

    async def fetch_offers(self) -> FetchResult:
        body = await request_json(self.http, "GET", CATALOG_URL, provider=NAME,
                                  params={"ovhSubsidiary": SUBSIDIARY})
        if not isinstance(body, dict) or not isinstance(body.get("addons"), list) \
                or not isinstance(body.get("plans"), list):
            detail = body.get("message") if isinstance(body, dict) else None
            raise BadResponse("catalog has no `plans`/`addons` lists" + (f": {detail}" if detail else ""),
                              provider=NAME)
        currency = (body.get("locale") or {}).get("currencyCode")
        if currency != "USD":
            raise BadResponse(f"catalog currency is {currency!r}, not USD", provider=NAME)
        return parse_catalog(body)


def parse_catalog(catalog: dict[str, Any]) -> FetchResult:
    result = FetchResult()
    flavors = _instance_addon_codes(catalog["plans"])
    addons = [a for a in catalog["addons"] if isinstance(a, dict) and a.get("planCode") in flavors]
    regions = _regions_by_flavor(addons)
    for addon in addons:
        code = addon["planCode"]
        if not code.endswith(_HOURLY_SUFFIX) or any(marker in code for marker in _OTHER_PRODUCTS):
            continue
        try:
            result.offers.extend(_offers_for(addon, regions))
        except (BadPrice, KeyError, TypeError, ValueError, AttributeError) as exc:
            result.skip(NAME, code, str(exc) or type(exc).__name__)
    return result


def _instance_addon_codes(plans: list[Any]) -> set[str]:
    project = next((p for p in plans if isinstance(p, dict) and p.get("planCode") == "project"), None)
    if project is None:
        raise BadResponse("catalog has no `project` plan", provider=NAME)
    for family in project.get("addonFamilies") or []:
        if isinstance(family, dict) and family.get("name") == "instance":
            return {code for code in family.get("addons") or [] if isinstance(code, str)
                    and not code.startswith("win-")}
    raise BadResponse("the project plan has no `instance` addon family", provider=NAME)


def _regions_by_flavor(addons: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Orderable regions per flavor, merged over its hourly and monthly variants (the hourly one
    often lists none)."""
    merged: dict[str, list[str]] = {}
    for addon in addons:
        code = addon.get("planCode", "")
        if any(marker in code for marker in _OTHER_PRODUCTS):
            continue
        for config in addon.get("configurations") or []:
            if isinstance(config, dict) and config.get("name") == "region":
                seen = merged.setdefault(str(addon.get("invoiceName")), [])
                seen.extend(r for r in config.get("values") or [] if isinstance(r, str) and r and r not in seen)
    return merged


def _hourly_price(addon: dict[str, Any]) -> Decimal:
    hourly = [p for p in addon["pricings"] if p.get("intervalUnit") == "hour" and p.get("interval") == 1
              and "consumption" in (p.get("capacities") or [])]
    if len(hourly) != 1:
        raise ValueError(f"{len(hourly)} hourly consumption pricings")
    return to_decimal(hourly[0]["price"]) / PRICE_UNIT


def _offers_for(addon: dict[str, Any], regions: dict[str, list[str]]) -> list[Offer]:
    technical = addon["blobs"]["technical"]
    gpu = technical.get("gpu")
    if not gpu:
        return []  # CPU flavor
    count, model = gpu["number"], gpu["model"]
    if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
        raise ValueError(f"bad gpu.number {count!r}")
    if not isinstance(model, str) or not model:
        raise ValueError("gpu.model is empty")
    price = _hourly_price(addon)
    if price == 0:
        return []
    flavor = addon["invoiceName"]
    memory = gpu.get("memory") or {}
    cpu = technical.get("cpu") or {}
    brand = str(gpu.get("brand") or "")
    common = dict(
        source=NAME,
        instance_type=flavor,
        gpu_raw_name=model if brand.lower() in model.lower() else f"{brand} {model}".strip(),
        gpu_count=Decimal(count),
        price_per_hour=price,
        spot=False,  # OVHcloud Public Cloud has no spot market
        gpu_memory_gb=memory.get("size"),
        vcpus=cpu.get("threads") or cpu.get("cores"),
        ram_gb=(technical.get("memory") or {}).get("size"),
        buy_url=PRICING_URL,
        gpu_hint=str(memory.get("interface") or ""),  # "HBM3": an H100 SXM board
    )
    where = regions.get(flavor, [])
    if not where:
        return [Offer(region="any", available=False, **common)]
    return [Offer(region=region, **common) for region in where]
