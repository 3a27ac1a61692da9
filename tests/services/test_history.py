"""Daily min/median/max per GPU and market, computed from change-only history."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select

from app.db.models import GpuDailyPrice
from app.services.history import daily_series, refresh_daily_stats
from app.services.ingest import ingest_offers
from tests.support.factories import make_offer

DAY = date(2026, 11, 10)


def at(day_offset: int, hour: int) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, tzinfo=timezone.utc) + timedelta(days=day_offset)


# Offers of one source; each poll below lists everything the source offered at that moment.
CARRIED = make_offer(gpu="H100 SXM", price="2.00", instance_type="carried")  # since D-2, unchanged
GONE = make_offer(gpu="H100 SXM", price="9.00", instance_type="gone")  # disappeared the day before
REPRICED = make_offer(gpu="H100 SXM", price="3.00", instance_type="repriced")  # 3.00, then 2.50 on D
REPRICED_2 = make_offer(gpu="H100 SXM", price="2.50", instance_type="repriced")
LEAVES = make_offer(gpu="H100 SXM", price="4.00", instance_type="leaves")  # disappears at noon on D
SPOT = make_offer(gpu="H100 SXM", price="1.20", instance_type="spot", spot=True)  # appears on D
EIGHT_A100 = make_offer(gpu="A100 SXM4", price="12.00", count=8, instance_type="a100x8")  # 1.50/GPU, on D
LATER = make_offer(gpu="H100 SXM", price="1.00", instance_type="later")  # appears the day after

POLLS = [
    (at(-3, 12), [GONE]),
    (at(-2, 12), [CARRIED, GONE]),
    (at(-1, 6), [CARRIED]),
    (at(-1, 12), [CARRIED, REPRICED, LEAVES]),
    (at(0, 8), [CARRIED, REPRICED, LEAVES, SPOT, EIGHT_A100]),
    (at(0, 10), [CARRIED, REPRICED_2, LEAVES, SPOT, EIGHT_A100]),
    (at(0, 12), [CARRIED, REPRICED_2, SPOT, EIGHT_A100]),
    (at(1, 9), [CARRIED, REPRICED_2, SPOT, EIGHT_A100, LATER]),
]


async def replay(sessions) -> None:
    for when, offers in POLLS:
        async with sessions() as s, s.begin():
            await ingest_offers(s, "lambdalabs", offers, when)


async def daily_rows(sessions, day: date) -> list[tuple]:
    async with sessions() as s:
        rows = (await s.execute(select(GpuDailyPrice).where(GpuDailyPrice.day == day))).scalars().all()
    return sorted((r.gpu_slug, r.spot, r.min_price, r.median_price, r.max_price, r.offer_count) for r in rows)


async def refresh(sessions, day: date) -> int:
    async with sessions() as s, s.begin():
        return await refresh_daily_stats(s, day)


def d(value: str) -> Decimal:
    return Decimal(value)


async def test_daily_stats_cover_every_price_active_that_day(sessions):
    await replay(sessions)
    assert await refresh(sessions, DAY) == 3
    # On-demand H100: carried 2.00, repriced 3.00 (carried) and 2.50 (changed on D), leaves 4.00
    # (active until noon); "gone" vanished before D and "later" came after it.
    assert await daily_rows(sessions, DAY) == [
        ("a100-sxm-80gb", False, d("1.5"), d("1.5"), d("1.5"), 1),
        ("h100-sxm", False, d("2.00"), d("2.75"), d("4.00"), 4),
        ("h100-sxm", True, d("1.20"), d("1.20"), d("1.20"), 1),
    ]


async def test_daily_stats_of_neighbouring_days(sessions):
    await replay(sessions)
    await refresh(sessions, DAY - timedelta(days=1))
    await refresh(sessions, DAY + timedelta(days=1))
    # D-1: gone (9.00, carried from D-2, disappeared at 06:00) still counts, since it was on sale.
    assert await daily_rows(sessions, DAY - timedelta(days=1)) == [
        ("h100-sxm", False, d("2.00"), d("3.50"), d("9.00"), 4),
    ]
    # D+1: only the latest price of "repriced" is carried; "leaves" is gone.
    assert await daily_rows(sessions, DAY + timedelta(days=1)) == [
        ("a100-sxm-80gb", False, d("1.5"), d("1.5"), d("1.5"), 1),
        ("h100-sxm", False, d("1.00"), d("2.00"), d("2.50"), 3),
        ("h100-sxm", True, d("1.20"), d("1.20"), d("1.20"), 1),
    ]


async def test_refreshing_a_day_twice_gives_the_same_rows(sessions):
    await replay(sessions)
    await refresh(sessions, DAY)
    first = await daily_rows(sessions, DAY)
    await refresh(sessions, DAY)
    assert await daily_rows(sessions, DAY) == first
    async with sessions() as s:
        series = await daily_series(s, ["h100-sxm"], DAY, spot=False)
    assert [(p.day, p.min_price, p.median_price, p.max_price) for p in series] == [
        (DAY, d("2.00"), d("2.75"), d("4.00")),
    ]


async def test_a_day_before_any_history_has_no_rows(sessions):
    await replay(sessions)
    assert await refresh(sessions, DAY - timedelta(days=10)) == 0
    assert await daily_rows(sessions, DAY - timedelta(days=10)) == []
