"""The ``/api/v1/prices`` query parameters: their limits and one way from their values to a
``PriceQuery``, for the Litestar route (app/api/prices.py) and for the raw ASGI fast path in front
of it (app/web/price_fast_path.py).

The route declares the parameters (the OpenAPI document and Litestar's own 400s for a value of the
wrong type come from there) with these limits. ``plain_params`` reads a query string the way the
route's parameters would, but only in the plain form clients send (``min_memory=80``, not
``min_memory=+080``, no blank or repeated single values, no unknown names): for anything else it
answers None and the request goes on to Litestar, so every error answer stays Litestar's.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from app.services.inputs import query_pairs  # read as Litestar's request.query_params reads them
from app.services.prices import MAX_PER_PAGE, MAX_TOTAL_MEMORY_GB, PriceQuery

MAX_MEMORY_GB = 1024
MAX_PAGE = 100_000

INTEGERS = {"min_memory": (0, MAX_MEMORY_GB), "min_total_memory": (0, MAX_TOTAL_MEMORY_GB), "page": (1, MAX_PAGE),
            "per_page": (1, MAX_PER_PAGE)}
"""Integer parameters and their (ge, le) bounds, as the route declares them."""
DECIMALS = ("min_gpus", "max_gpus", "max_price")
BOOLEANS = ("spot", "available", "include_unreported")
TEXTS = ("gpu", "region", "sort")
LISTS = ("provider", "price_basis")
DEFAULTS: dict[str, Any] = {"gpu": None, "min_memory": None, "min_gpus": None, "max_gpus": None,
                            "min_total_memory": None, "max_price": None, "provider": None, "region": None,
                            "spot": None, "available": None, "include_unreported": None, "price_basis": None,
                            "sort": "price", "page": 1, "per_page": 50}

_INTEGER = re.compile(r"0|[1-9][0-9]{0,8}")
_DECIMAL = re.compile(r"(0|[1-9][0-9]{0,8})(\.[0-9]{1,12})?")
_BOOLEANS = {"true": True, "false": False}


def split_list(values: list[str] | None) -> tuple[str, ...]:
    """``provider`` (and ``price_basis``) may repeat and/or be comma-separated: ?provider=runpod,lambdalabs&provider=vastai."""
    return tuple(name.strip() for value in values or () for name in value.split(",") if name.strip())


def price_query(*, gpu: str | None, min_memory: int | None, min_gpus: Decimal | None, max_gpus: Decimal | None,
                min_total_memory: int | None, max_price: Decimal | None, provider: list[str] | None,
                region: str | None, spot: bool | None, available: bool | None, include_unreported: bool | None,
                price_basis: list[str] | None, sort: str, page: int, per_page: int,
                include_simulated: bool) -> PriceQuery:
    """The parameters' query, validated (``InvalidQuery``: a 400 naming the parameter)."""
    return PriceQuery(
        gpu=gpu or None, min_memory_gb=min_memory, min_gpus=min_gpus, max_gpus=max_gpus,
        min_total_memory_gb=min_total_memory, max_price=max_price, providers=split_list(provider),
        region=region or None, spot=spot, available_only=bool(available),
        include_unreported=bool(include_unreported), price_basis=split_list(price_basis), sort=sort, page=page,
        per_page=per_page, include_simulated=include_simulated,
    ).validate()


def plain_params(query_string: bytes) -> dict[str, Any] | None:
    """The route's parameter values for a query string in the plain form; None: not that form."""
    values = dict(DEFAULTS)
    seen: set[str] = set()
    for name, value in query_pairs(query_string):
        if not value:
            return None
        if name in LISTS:
            values[name] = [*(values[name] or ()), value]
            continue
        if name in seen:
            return None
        seen.add(name)
        if name in TEXTS:
            values[name] = value
        elif name in INTEGERS:
            low, high = INTEGERS[name]
            if not _INTEGER.fullmatch(value) or not low <= int(value) <= high:
                return None
            values[name] = int(value)
        elif name in DECIMALS:
            if not _DECIMAL.fullmatch(value):
                return None
            values[name] = Decimal(value)
        elif name in BOOLEANS:
            if value not in _BOOLEANS:
                return None
            values[name] = _BOOLEANS[value]
        else:
            return None
    return values
