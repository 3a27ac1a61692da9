"""Banners that keep prices honest: snapshot prices and stale sources are called out, never hidden."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.services.freshness import Freshness, source_freshness
from app.services.prices import OfferView, poll_interval, source_rows
from app.web.source_info import source_info


@dataclass(frozen=True)
class Notice:
    kind: str  # snapshot | stale
    text: str


async def freshness_by_source(session: AsyncSession, names: Iterable[str], now: datetime) -> dict[str, Freshness]:
    rows = await source_rows(session)
    return {name: source_freshness(rows.get(name), poll_interval(name), now) for name in names}


def freshness_notices(offers: Iterable[OfferView], sources: dict[str, Freshness]) -> list[Notice]:
    """``offers`` are the prices on the page; ``sources`` every source whose prices the page may show."""
    offers = list(offers)
    snapshot_days = {f"{o.observed_at:%Y-%m-%d}" for o in offers if o.is_snapshot}
    snapshot_days |= {f"{f.as_of:%Y-%m-%d}" for f in sources.values() if f.state == "snapshot" and f.as_of}
    notices = []
    if snapshot_days:
        notices.append(Notice(
            "snapshot",
            f"Prices from the bundled snapshot of {', '.join(sorted(snapshot_days))}, not live. "
            "They are replaced as soon as the provider is polled successfully.",
        ))
    stale = sorted(
        (source_info(name).display_name, f.label.removeprefix("stale: "))
        for name, f in sources.items() if f.state == "stale"
    )
    if stale:
        listed = "; ".join(f"{name} ({age})" for name, age in stale)
        notices.append(Notice(
            "stale",
            f"the latest poll failed or is overdue for {listed}. "
            "Their last good prices are shown with their age.",
        ))
    return notices
