"""Price history: daily min/median/max per canonical GPU, rebuilt from change-only history.

The prices active on a day are every history row of that day plus, for each offer, the last
row before the day (unless the offer had disappeared). Recomputing a day is idempotent, so the
job is safe to run twice or from several workers.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import and_, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import GpuDailyPrice, PriceHistory
from app.db.types import money
from providers.registry import SIMULATED

_SIMULATED = list(SIMULATED) or [""]
"""The simulated cloud's made-up prices never enter the public daily statistics."""


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=timezone.utc)
    return start, start + timedelta(days=1)


async def _active_prices(session: AsyncSession, day: date) -> list[tuple[str, bool, Decimal]]:
    start, end = day_bounds(day)
    h = PriceHistory
    ranked = (
        select(
            h.gpu_slug, h.spot, h.price_per_gpu_hour, h.event,
            func.row_number().over(partition_by=(h.source, h.offer_key), order_by=(h.observed_at.desc(), h.id.desc()))
            .label("rn"),
        )
        .where(h.observed_at < start, h.gpu_slug.is_not(None), h.source.not_in(_SIMULATED))
        .subquery()
    )
    carried = select(ranked.c.gpu_slug, ranked.c.spot, ranked.c.price_per_gpu_hour).where(
        ranked.c.rn == 1, ranked.c.event != "disappeared"
    )
    during = select(h.gpu_slug, h.spot, h.price_per_gpu_hour).where(
        h.observed_at >= start, h.observed_at < end, h.gpu_slug.is_not(None), h.event != "disappeared",
        h.source.not_in(_SIMULATED),
    )
    rows = (await session.execute(carried)).all() + (await session.execute(during)).all()
    return [(slug, spot, price) for slug, spot, price in rows]


async def refresh_daily_stats(session: AsyncSession, day: date) -> int:
    """Recompute one day's rows for every GPU; the caller commits. Returns rows written."""
    groups: dict[tuple[str, bool], list[Decimal]] = defaultdict(list)
    for slug, spot, price in await _active_prices(session, day):
        groups[(slug, spot)].append(price)
    await session.execute(delete(GpuDailyPrice).where(GpuDailyPrice.day == day))
    rows = [
        dict(gpu_slug=slug, day=day, spot=spot, min_price=min(prices), max_price=max(prices),
             median_price=money(statistics.median(prices)), offer_count=len(prices))
        for (slug, spot), prices in groups.items()
    ]
    if rows:
        await session.execute(insert(GpuDailyPrice), rows)
    return len(rows)


async def refresh_recent_days(session: AsyncSession, now: datetime, days: int = 2) -> int:
    today = now.astimezone(timezone.utc).date()
    written = 0
    for offset in range(days):
        written += await refresh_daily_stats(session, today - timedelta(days=offset))
    return written


@dataclass(frozen=True)
class DailyPoint:
    gpu_slug: str
    day: date
    spot: bool
    min_price: Decimal
    median_price: Decimal
    max_price: Decimal
    offer_count: int


async def daily_series(
    session: AsyncSession, gpu_slugs: Iterable[str], since: date, spot: bool | None = None
) -> list[DailyPoint]:
    d = GpuDailyPrice
    conds = [d.gpu_slug.in_(list(gpu_slugs)), d.day >= since]
    if spot is not None:
        conds.append(d.spot.is_(spot))
    stmt = select(d).where(and_(*conds)).order_by(d.gpu_slug, d.spot, d.day)
    return [
        DailyPoint(r.gpu_slug, r.day, r.spot, r.min_price, r.median_price, r.max_price, r.offer_count)
        for r in (await session.execute(stmt)).scalars()
    ]


async def offer_history(session: AsyncSession, gpu_slugs: Iterable[str], since: datetime) -> list[PriceHistory]:
    """Raw change events for the GPUs (API: per-offer history)."""
    h = PriceHistory
    stmt = select(h).where(h.gpu_slug.in_(list(gpu_slugs)), h.observed_at >= since).order_by(h.observed_at, h.id)
    return list((await session.execute(stmt)).scalars())


async def offer_history_page(
    session: AsyncSession, gpu_slugs: Iterable[str], since: datetime | None, page: int, per_page: int
) -> tuple[list[PriceHistory], int]:
    """One page of raw change events for the GPUs, oldest first, and the total (API pagination)."""
    h = PriceHistory
    conds = [h.gpu_slug.in_(list(gpu_slugs))]
    if since is not None:
        conds.append(h.observed_at >= since)
    total = (await session.execute(select(func.count()).select_from(h).where(*conds))).scalar_one()
    stmt = select(h).where(*conds).order_by(h.observed_at, h.id).limit(per_page).offset((page - 1) * per_page)
    return list((await session.execute(stmt)).scalars()), total
