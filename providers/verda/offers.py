"""Verda `GET /instance-types` + `GET /instance-availability` -> offers.

Prices are decimal strings, USD per instance-hour (we ask for currency=usd): `price_per_hour`
on demand, `spot_price` for spot. Instance types carry no location; the availability lists
say, per market, which types can be deployed where right now. So each type yields one offer
per location that lists it, or one unavailable offer in region "any" when no location does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from providers.base import FetchResult, Offer
from providers.errors import BadResponse
from providers.money import BadPrice, to_decimal

NAME = "verda"
PRICING_URL = "https://verda.com/pricing"
NOWHERE = "any"
# "8x H100 SXM5 80GB" -> "H100 SXM5 80GB": the count lives in gpu_count, not in the name.
_COUNT_PREFIX = re.compile(r"^\s*\d+\s*x\s+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Market:
    spot: bool
    price_field: str
    label: str


MARKETS = (_Market(False, "price_per_hour", "on-demand"), _Market(True, "spot_price", "spot"))


def locations_by_type(availability: list[Any]) -> dict[str, list[str]]:
    """Invert one market's availability list: instance type -> location codes."""
    where: dict[str, list[str]] = {}
    for entry in availability:
        location = entry.get("location_code") if isinstance(entry, dict) else None
        type_names = entry.get("availabilities") if isinstance(entry, dict) else None
        if not isinstance(location, str) or not isinstance(type_names, list):
            raise BadResponse("an instance-availability entry lacks location_code or availabilities",
                              provider=NAME)
        for type_name in type_names:
            locations = where.setdefault(str(type_name), [])
            if location not in locations:
                locations.append(location)
    return where


def parse_instance_types(
    instance_types: list[Any], on_demand_availability: list[Any], spot_availability: list[Any]
) -> FetchResult:
    where = {False: locations_by_type(on_demand_availability), True: locations_by_type(spot_availability)}
    result = FetchResult()
    seen: set[str] = set()
    for entry in instance_types:
        label = str(entry.get("instance_type") if isinstance(entry, dict) else entry)[:100]
        if label in seen:
            result.skip(NAME, label, "listed twice")
            continue
        seen.add(label)
        try:
            result.offers.extend(_offers_for(entry, where, result))
        except KeyError as exc:
            result.skip(NAME, label, f"missing field {exc}")
        except (TypeError, ValueError) as exc:
            result.skip(NAME, label, str(exc) or type(exc).__name__)
    return result


def _offers_for(entry: dict, where: dict[bool, dict[str, list[str]]], result: FetchResult) -> list[Offer]:
    type_name = entry["instance_type"]
    if not isinstance(type_name, str) or not type_name:
        raise ValueError(f"bad instance_type {type_name!r}")
    gpu = entry["gpu"]
    if not isinstance(gpu, dict):
        raise ValueError(f"gpu is {gpu!r}, not an object")
    count = gpu["number_of_gpus"]
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ValueError(f"bad GPU count {count!r}")
    if count == 0:
        return []  # a CPU-only type: not a GPU offer
    currency = str(entry.get("currency", "usd")).lower()
    if currency != "usd":
        raise ValueError(f"priced in {currency!r}, asked for usd")
    description = gpu["description"]
    raw_name = gpu_name(description)
    if not raw_name:
        raise ValueError(f"bad gpu.description {description!r}")

    common = dict(
        source=NAME,
        instance_type=type_name,
        gpu_raw_name=raw_name,
        gpu_count=Decimal(count),
        gpu_memory_gb=_per_gpu_memory(entry.get("gpu_memory"), count),
        vcpus=_size(entry.get("cpu"), "number_of_cores"),
        ram_gb=_size(entry.get("memory"), "size_in_gigabytes"),
        disk_gb=_size(entry.get("storage"), "size_in_gigabytes"),
        buy_url=PRICING_URL,
    )
    offers = []
    for market in MARKETS:
        try:
            price = _price(entry.get(market.price_field))
        except BadPrice as exc:
            # e.g. "N/A": that market is lost, the other one (and the type) is kept.
            result.skip(NAME, f"{type_name} ({market.label})", str(exc))
            continue
        if price is None:
            continue
        locations = where[market.spot].get(type_name)
        if not locations:
            # Sold out everywhere: still a published price, shown as unavailable.
            offers.append(Offer(price_per_hour=price, spot=market.spot, region=NOWHERE,
                                available=False, **common))
            continue
        offers.extend(
            Offer(price_per_hour=price, spot=market.spot, region=location, available=True, **common)
            for location in locations
        )
    return offers


def gpu_name(description: object) -> str:
    """`gpu.description` without its count: "8x H100 SXM5 80GB" -> "H100 SXM5 80GB" ("" if none)."""
    return _COUNT_PREFIX.sub("", description).strip() if isinstance(description, str) else ""


def _price(raw: object) -> Decimal | None:
    """USD per instance-hour, or None where the type is not sold in that market (0 or null)."""
    if raw is None:
        return None
    price = to_decimal(raw)
    return price if price > 0 else None


def _size(section: object, field: str) -> int | None:
    value = section.get(field) if isinstance(section, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _per_gpu_memory(section: object, count: int) -> int | None:
    """`gpu_memory.size_in_gigabytes` is the whole instance's: 2x RTX A6000 shows 96."""
    total = _size(section, "size_in_gigabytes")
    return round(total / count) if total else None
