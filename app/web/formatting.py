"""Display formatting for the pages. Money stays Decimal until this last step (rounding is display only)."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from app.console.launch_form import can_launch
from app.services.prices import OfferView
from providers.base import PRICE_BASIS_HELP, PRICE_BASIS_LABELS, PriceBasis

_CENT = Decimal("0.01")
_MILLI = Decimal("0.001")


def money(value: Decimal | None) -> str:
    """"$2.99"; sub-dime prices (marketplace slices) keep a third decimal so they don't all read "$0.05"."""
    if value is None:
        return "–"
    quantum = _MILLI if value < Decimal("0.10") else _CENT
    return f"${value.quantize(quantum, rounding=ROUND_HALF_UP):,}"


_CURRENCY_SIGNS = {"EUR": "€", "GBP": "£", "USD": "$"}


def foreign_money(value: Decimal, currency: str) -> str:
    """A provider's own price before conversion: "€0.38", or "0.38 CHF" without a sign we know."""
    amount = value.quantize(_MILLI if value < Decimal("0.10") else _CENT, rounding=ROUND_HALF_UP)
    sign = _CURRENCY_SIGNS.get(currency)
    return f"{sign}{amount:,}" if sign else f"{amount:,} {currency}"


def money_fine(value: Decimal | None, places: int = 4) -> str:
    """Small unit prices such as $/TFLOP-hour."""
    if value is None:
        return "–"
    return f"${value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)}"


def gpu_count(value: Decimal) -> str:
    """1, 8 or 0.5 (sliced GPUs) without the stored six decimals."""
    normalized = value.normalize()
    return f"{normalized:f}"


def gb(value: Decimal | int | None) -> str:
    """"24 GB", "2 GB", "1.5 GB"; "–" when not reported."""
    if value is None:
        return "–"
    return f"{Decimal(value).quantize(Decimal('0.1')).normalize():f} GB"


def gpu_memory(offer: OfferView) -> str:
    """GPU memory as the offer gives it: "80 GB per GPU", or for a slice its share of the card
    ("2 GB: a 1/8 slice of a 16 GB card"); "" when the provider does not say."""
    if offer.gpu_memory_gb is None:
        return ""
    if offer.is_fraction:
        share = Fraction(offer.gpu_count).limit_denominator(64)
        return f"{gb(offer.memory_per_gpu_gb)}: a {share} slice of a {offer.gpu_memory_gb} GB card"
    return f"{offer.gpu_memory_gb} GB per GPU"


def utc(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else "never"


def day(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d}" if value else ""


def offer_age_label(offer: OfferView) -> str:
    """Where the price stands: "live: 3 min ago", "stale: updated 5 h ago" or "snapshot of 2026-11-20"."""
    if offer.is_snapshot:
        return offer.age_label
    if offer.freshness.state == "stale":
        return f"stale: updated {offer.age_label}"
    return f"live: {offer.age_label}"


def offer_age_state(offer: OfferView) -> str:
    """CSS hook matching ``offer_age_label``: live, stale or snapshot."""
    if offer.is_snapshot:
        return "snapshot"
    return "stale" if offer.freshness.state == "stale" else "live"


def duration_ms(value: int | None) -> str:
    if value is None:
        return "–"
    return f"{value} ms" if value < 10_000 else f"{value / 1000:.1f} s"


def interval(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"every {seconds // 3600} h"
    if seconds % 60 == 0:
        return f"every {seconds // 60} min"
    return f"every {seconds} s"


def basis_legend() -> str:
    """Every price basis with its meaning, for the legend under the offers tables."""
    return "; ".join(f"{PRICE_BASIS_LABELS[b]}: {PRICE_BASIS_HELP[b]}" for b in PriceBasis)


HELPERS = {
    "basis_labels": PRICE_BASIS_LABELS,
    "basis_help": PRICE_BASIS_HELP,
    "basis_legend": basis_legend,
    "money": money,
    "money_fine": money_fine,
    "foreign_money": foreign_money,
    "gpu_count": gpu_count,
    "gb": gb,
    "gpu_memory": gpu_memory,
    "utc": utc,
    "day": day,
    "offer_age_label": offer_age_label,
    "offer_age_state": offer_age_state,
    "duration_ms": duration_ms,
    "interval": interval,
    "can_launch": can_launch,  # the console: offers it can launch get a Launch button
}
"""Functions every template may call (passed in the context: the template engine is app-wide config)."""
