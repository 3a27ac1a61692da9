"""How amounts of money spent read on the cost pages: always in cents ("$1,234.56", "$0.00").
(The shared ``money`` helper keeps a third decimal under a dime, which suits prices, not totals.)
The exact amounts are in the pages' ``data-amount`` attributes and in the CSV."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

_CENT = Decimal("0.01")


def cost(value: Decimal | None) -> str:
    if value is None:
        return "–"
    return f"${value.quantize(_CENT, rounding=ROUND_HALF_UP):,}"
