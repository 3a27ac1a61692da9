"""The dashboard's GET form -> a validated PriceQuery, with a clear message for every bad value.

A GET form submits every field, empty ones included (``max_price=``), so empty means "no filter".
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from app.services.prices import MAX_FILTER_TEXT, InvalidQuery, PriceQuery
from app.web.urls import SPOT_BY_MARKET

MAX_TEXT = MAX_FILTER_TEXT


def _text(params: Mapping, name: str) -> str | None:
    value = (params.get(name) or "").strip()
    if len(value) > MAX_TEXT:
        raise InvalidQuery(f"{name} is too long (at most {MAX_TEXT} characters)", name)
    return value or None


def _int(params: Mapping, name: str) -> int | None:
    value = _text(params, name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidQuery(f"{name} must be a whole number, got {value!r}", name) from None


def _int_or(params: Mapping, name: str, default: int) -> int:
    value = _int(params, name)
    return default if value is None else value


def _decimal(params: Mapping, name: str) -> Decimal | None:
    value = _text(params, name)
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise InvalidQuery(f"{name} must be a number, got {value!r}", name)
    return number


def _flag(params: Mapping, name: str) -> bool:
    return (params.get(name) or "").strip().lower() in {"1", "true", "on", "yes"}


def parse_price_query(params: Mapping, *, include_simulated: bool = False) -> PriceQuery:
    """``params`` is the request's query MultiDict (``getall`` for repeated provider boxes).
    ``include_simulated`` comes from the settings (sandbox mode), never from the URL."""
    market = _text(params, "market") or "any"
    if market not in SPOT_BY_MARKET:
        raise InvalidQuery(f"market must be one of: {', '.join(SPOT_BY_MARKET)}", "market")
    gpu = _text(params, "gpu")
    providers = tuple(dict.fromkeys(p.strip() for p in params.getall("provider", []) if p.strip()))
    query = PriceQuery(
        gpu=gpu.lower() if gpu else None,
        min_memory_gb=_int(params, "min_memory"),
        min_gpus=_decimal(params, "min_gpus"),
        max_gpus=_decimal(params, "max_gpus"),
        min_total_memory_gb=_int(params, "min_total_memory"),
        max_price=_decimal(params, "max_price"),
        providers=providers,
        region=_text(params, "region"),
        spot=SPOT_BY_MARKET[market],
        available_only=_flag(params, "available"),
        include_unreported=_flag(params, "unreported"),
        price_basis=tuple(dict.fromkeys(b.strip() for b in params.getall("price_basis", []) if b.strip())),
        sort=_text(params, "sort") or PriceQuery.sort,
        page=_int_or(params, "page", 1),
        per_page=_int_or(params, "per_page", PriceQuery.per_page),
        include_simulated=include_simulated,
    )
    return query.validate()
