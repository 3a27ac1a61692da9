"""The cost history as CSV: exactly the rows of the table under the same filters, all pages.
Amounts are exact (6 decimals) so a spreadsheet's sum matches the page's total to the cent."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pandas as pd

COLUMNS = ["date", "instance_id", "instance", "provider", "gpu", "hours", "price_per_hour", "amount"]


def _exact(micros: int) -> str:
    return f"{Decimal(int(micros)).scaleb(-6):.6f}"


def spreadsheet_text(value: str) -> str:
    """Instance names come from providers too: one starting like a formula stays text in a spreadsheet."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _hours(seconds: int) -> str:
    return f"{Decimal(int(seconds)) / 3600:.4f}"


def history_csv(rows: pd.DataFrame, provider_name: Callable[[str], str],
                gpu_name: Callable[[str | None], str], project_name: Callable[[int | None], str] | None = None,
                member_name: Callable[[int], str] | None = None) -> str:
    """``rows``: ``dashboards.cost_frames.history`` of the filtered range. With ``project_name`` (an
    organization's export) a ``project`` column follows the instance: the project each cost was
    accrued in; with ``member_name`` a ``member`` column after it: who launched the instance."""
    out = pd.DataFrame({
        "date": [d.isoformat() for d in rows["day"]],
        "instance_id": rows["instance_id"].astype("int64"),
        "instance": [spreadsheet_text(str(n)) for n in rows["instance"]],
        "provider": [provider_name(p) for p in rows["provider"]],
        "gpu": [gpu_name(g) for g in rows["gpu_slug"].astype(object).where(rows["gpu_slug"].notna(), None)],
        "hours": [_hours(s) for s in rows["seconds"]],
        "price_per_hour": [_exact(p) for p in rows["price_micros"]],
        "amount": [_exact(a) for a in rows["amount_micros"]],
    }, columns=COLUMNS)
    if project_name is not None:
        projects = [None if p is None or pd.isna(p) else int(p) for p in rows["project_id"].astype(object)]
        out.insert(COLUMNS.index("instance") + 1, "project", [spreadsheet_text(project_name(p)) for p in projects])
    if member_name is not None:
        out.insert(list(out.columns).index("instance") + (2 if project_name else 1), "member",
                   [spreadsheet_text(member_name(int(u))) for u in rows["user_id"]])
    return out.to_csv(index=False, lineterminator="\r\n")
