"""Foreign exchange for sources that publish prices in another currency than USD.

Rates are the European Central Bank's euro foreign exchange reference rates, published once a
day on TARGET working days around 16:00 CET (https://www.ecb.europa.eu/stats/policy_and_exchange_rates/
euro_reference_exchange_rates/html/index.en.html) as ``eurofxref-daily.xml``: a ``Cube`` with the
reference ``time`` (a date) holding one ``Cube currency=".." rate=".."`` per currency, each rate
in units of that currency for one euro. A converted price keeps its original currency, amount,
the rate used and the rate's date (:class:`PriceConversion`), so pages can say where it came from.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

import httpx

from providers.errors import BadResponse
from providers.http import request_ok
from providers.money import SCALE

ECB_DAILY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
PUBLISHER = "ECB"
_NS = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}"


@dataclass(frozen=True, slots=True)
class PriceConversion:
    """How a USD price was obtained: the provider's own amount and currency, and the rate used."""

    currency: str
    price_per_hour: Decimal
    usd_per_unit: Decimal
    rate_date: date

    @property
    def label(self) -> str:
        return f"converted from {self.currency} at the {PUBLISHER} rate of {self.rate_date.isoformat()}"


@dataclass(frozen=True, slots=True)
class FxRate:
    currency: str
    usd_per_unit: Decimal
    rate_date: date

    def convert(self, amount: Decimal) -> tuple[Decimal, PriceConversion]:
        """``amount`` in ``currency`` -> (USD, how); exact Decimal, at the money scale."""
        usd = (amount * self.usd_per_unit).quantize(SCALE)
        return usd, PriceConversion(self.currency, amount, self.usd_per_unit, self.rate_date)


def parse_ecb_daily(content: bytes, currency: str, *, provider: str) -> FxRate:
    """The USD value of one ``currency`` unit from an ECB daily file (EUR or a cross rate via EUR)."""
    if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
        raise BadResponse("ECB rates file declares a DOCTYPE/ENTITY; refused", provider=provider)
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        raise BadResponse(f"malformed ECB rates XML: {exc}", provider=provider) from exc
    day = next((cube for cube in root.iter(f"{_NS}Cube") if cube.get("time")), None)
    if day is None:
        raise BadResponse("ECB rates file has no dated Cube", provider=provider)
    try:
        rate_date = date.fromisoformat(day.get("time", ""))
    except ValueError as exc:
        raise BadResponse(f"ECB rate date {day.get('time')!r} is not a date", provider=provider) from exc
    per_eur: dict[str, Decimal] = {}
    for cube in day.iter(f"{_NS}Cube"):
        code, raw = cube.get("currency"), cube.get("rate")
        if code is None:
            continue
        try:
            value = Decimal(raw or "")
        except InvalidOperation as exc:
            raise BadResponse(f"ECB rate for {code} is not a number: {raw!r}", provider=provider) from exc
        if not value.is_finite() or value <= 0:
            raise BadResponse(f"ECB rate for {code} is not positive: {raw!r}", provider=provider)
        per_eur[code] = value
    per_eur["EUR"] = Decimal(1)
    if "USD" not in per_eur or currency not in per_eur:
        raise BadResponse(f"ECB rates of {rate_date} have no USD or {currency} rate", provider=provider)
    return FxRate(currency, (per_eur["USD"] / per_eur[currency]).quantize(SCALE), rate_date)


async def ecb_rate(http: httpx.AsyncClient, currency: str, *, provider: str) -> FxRate:
    """Today's (latest published) ECB reference rate of ``currency`` in USD; typed errors."""
    response = await request_ok(http, "GET", ECB_DAILY_URL, provider=provider, headers={"Accept": "application/xml"})
    return parse_ecb_daily(response.content, currency, provider=provider)
