"""Shaping the daily cost rows (local day x instance x price, from ``app.costs.queries.daily_costs``)
into what the cost pages show. Every view is cut from the same frame, so the trend, the pie, the
bars, the table and the CSV always add up to the same total.

Money is in integer micro-dollars (``amount_micros``, ``price_micros``) here: int64 sums are exact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import pandas as pd

HISTORY_ORDER = ["day", "instance", "instance_id", "price_micros"]


def daily_totals(frame: pd.DataFrame, days: Sequence[date]) -> pd.Series:
    """Micro-dollars per local day, every day of the range present (days without cost are 0)."""
    totals = frame.groupby("day")["amount_micros"].sum() if len(frame) else pd.Series(dtype="int64")
    return totals.reindex(list(days), fill_value=0).astype("int64")


def totals_by(frame: pd.DataFrame, column: str, label: Callable[[str | None], str]) -> pd.Series:
    """Micro-dollars per value of ``column`` (provider, gpu_slug), labelled, largest first."""
    if not len(frame):
        return pd.Series(dtype="int64")
    keys = frame[column].astype(object).where(frame[column].notna(), None)
    totals = frame.assign(label=[label(k) for k in keys]).groupby("label")["amount_micros"].sum()
    totals = totals[totals > 0]
    return totals.sort_values(ascending=False, kind="stable")


def history(frame: pd.DataFrame) -> pd.DataFrame:
    """The detailed history: newest day first, then by instance name."""
    ordered = frame.sort_values(HISTORY_ORDER, ascending=[False, True, True, True], kind="stable")
    return ordered.reset_index(drop=True)


def page_count(rows: pd.DataFrame, size: int) -> int:
    return max(1, -(-len(rows) // size))


def page_of(rows: pd.DataFrame, page: int, size: int) -> pd.DataFrame:
    return rows.iloc[(page - 1) * size: page * size]
