"""Money parsing for provider payloads: every price becomes an exact Decimal."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

SCALE = Decimal("0.000001")


class BadPrice(ValueError):
    pass


def to_decimal(raw: object) -> Decimal:
    """Accept int, Decimal, numeric string or {"value": "..."}; refuse anything else (never read "N/A" as 0)."""
    if isinstance(raw, Mapping) and "value" in raw:
        raw = raw["value"]
    if isinstance(raw, bool) or raw is None:
        raise BadPrice(f"not a price: {raw!r}")
    if isinstance(raw, float):
        raw = repr(raw)  # json parsed with parse_float=Decimal never gives floats; be exact anyway
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError) as exc:
        raise BadPrice(f"not a price: {raw!r}") from exc
    if not value.is_finite() or value < 0:
        raise BadPrice(f"not a price: {raw!r}")
    return value


def per_gpu_hour(price_per_hour: Decimal, gpu_count: Decimal) -> Decimal:
    """The one place that normalizes an instance price to $/GPU-hour."""
    if gpu_count <= 0:
        raise BadPrice("an offer without GPUs has no $/GPU-hour")
    return (price_per_hour / gpu_count).quantize(SCALE)
