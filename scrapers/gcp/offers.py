"""Cloud Billing Catalog SKUs -> offers: one per GPU SKU and region, on-demand or spot.

A GPU SKU (``category.resourceGroup == "GPU"``) is priced per GPU-hour as ``units + nanos/1e9``
USD; its description names the card ("Nvidia Tesla T4 GPU running in Americas", "Spot Preemptible
Nvidia H100 80GB GPU running in Iowa"; older SKUs say "... GPU attached to Spot Preemptible VMs
running in ...") and ``serviceRegions`` lists where that price applies.
Commitments, reservations, DWS/calendar SKUs, GPU slices and Virtual Workstation (licence
included) SKUs are other products, left out, so a card is priced once per region and market.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from typing import Any

from providers.base import FetchResult, keep_cheapest, Offer
from providers.money import BadPrice, to_decimal

NAME = "gcp"
PRICING_URL = "https://cloud.google.com/compute/gpus-pricing"
_NANOS = Decimal(1_000_000_000)
_MARKETS = {"OnDemand": False, "Preemptible": True}
# "Nvidia L4 GPU running in Americas", "Spot Preemptible Nvidia L4 GPU running in Iowa", and the
# older "Nvidia Tesla T4 GPU attached to Spot Preemptible VMs running in Belgium".
_DESCRIPTION = re.compile(r"^(?:Spot Preemptible\s+)?(?P<name>.+?)\s+GPU\s+(?:attached to .*?\s+)?running in\s+\S",
                          re.IGNORECASE)
_OTHER_PRODUCTS = re.compile(r"virtual workstation|\bDWS\b|calendar|commitment|reserved|reservation|slice",
                             re.IGNORECASE)

# Card name in the description -> (accelerator type, GB per GPU, board). GCP attaches its
# A100, H100, H200 and V100 as SXM boards (a2, a3, n1 + V100 SXM2). A name not here is still
# published under its own name (the catalog lists it as unknown), never dropped.
_CARDS: dict[str, tuple[str, int, str]] = {
    "nvidia tesla t4": ("nvidia-tesla-t4", 16, ""),
    "nvidia l4": ("nvidia-l4", 24, ""),
    "nvidia tesla v100": ("nvidia-tesla-v100", 16, "SXM2"),
    "nvidia tesla a100": ("nvidia-tesla-a100", 40, "SXM4"),
    "nvidia tesla a100 80gb": ("nvidia-a100-80gb", 80, "SXM4"),
    "nvidia a100 80gb": ("nvidia-a100-80gb", 80, "SXM4"),
    "nvidia h100 80gb": ("nvidia-h100-80gb", 80, "SXM5"),
    "nvidia h100 80gb mega": ("nvidia-h100-mega-80gb", 80, "SXM5"),
    "nvidia h100 mega 80gb": ("nvidia-h100-mega-80gb", 80, "SXM5"),
    "nvidia h200 141gb": ("nvidia-h200-141gb", 141, "SXM5"),
    "nvidia b200": ("nvidia-b200", 180, "SXM6"),
    "nvidia rtx pro 6000": ("nvidia-rtx-pro-6000", 96, ""),
}

log = logging.getLogger(__name__)


def parse_skus(skus: list[Any]) -> FetchResult:
    result = FetchResult()
    cheapest: dict[str, Offer] = {}
    for sku in skus:
        try:
            offers = _offers_for(sku)
        except (BadPrice, KeyError, TypeError, ValueError, IndexError) as exc:
            label = sku.get("skuId") or sku.get("description") if isinstance(sku, dict) else repr(sku)[:80]
            result.skip(NAME, str(label), str(exc) or type(exc).__name__)
            continue
        for offer in offers:
            keep_cheapest(cheapest, offer)
    result.offers = list(cheapest.values())
    return result


def unit_price(money: dict[str, Any]) -> Decimal:
    """google.type.Money: ``units`` (int64, sent as a string) plus ``nanos`` (1e-9 units)."""
    if money.get("currencyCode") != "USD":
        raise ValueError(f"currency is {money.get('currencyCode')!r}, not USD")
    units, nanos = money.get("units", "0"), money.get("nanos", 0)
    if isinstance(nanos, bool) or not isinstance(nanos, int) or not 0 <= nanos < _NANOS:
        raise BadPrice(f"bad nanos {nanos!r}")
    return to_decimal(units) + Decimal(nanos) / _NANOS


def _offers_for(sku: dict[str, Any]) -> list[Offer]:
    category = sku["category"]
    if category.get("resourceGroup") != "GPU" or category.get("usageType") not in _MARKETS:
        return []
    description = sku["description"]
    if _OTHER_PRODUCTS.search(description):
        return []
    match = _DESCRIPTION.match(description)
    if not match:
        log.debug("%s: GPU SKU %r not in the '<card> GPU running in <place>' form", NAME, description)
        return []
    spot = _MARKETS[category["usageType"]]
    expression = sku["pricingInfo"][0]["pricingExpression"]
    if expression.get("usageUnit") != "h":
        raise ValueError(f"usage unit is {expression.get('usageUnit')!r}, not h")
    rates = [r for r in expression["tieredRates"] if to_decimal(r.get("startUsageAmount", 0)) == 0]
    if len(rates) != 1:
        raise ValueError("no single first-tier rate")
    price = unit_price(rates[0]["unitPrice"])
    if price == 0:
        return []
    regions = sku["serviceRegions"]
    if not isinstance(regions, list) or not regions or not all(isinstance(r, str) and r for r in regions):
        raise ValueError(f"bad serviceRegions {regions!r}")
    name = match.group("name").strip()
    accelerator, memory_gb, board = _CARDS.get(name.lower(), (None, None, ""))
    return [
        Offer(
            source=NAME,
            instance_type=accelerator or "-".join(name.lower().split()),
            gpu_raw_name=name,
            gpu_count=Decimal(1),
            price_per_hour=price,
            region=region,
            spot=spot,
            gpu_memory_gb=memory_gb,
            buy_url=PRICING_URL,
            gpu_hint=board,
        )
        for region in regions
    ]
