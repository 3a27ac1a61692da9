"""Turn instance state history into cost records.

Each instance event sets the state and the hourly price in force from its time on. Time spent in
a billable state is cut into 15-minute UTC periods and priced exactly:
``amount = price_per_hour x microseconds / 3.6e9``, quantized to 6 decimals.

The job recomputes every period from the instance's watermark (``cost_accrued_until``) to now and
replaces those records, then moves the watermark to the start of the current period. Running it
twice gives the same records; after downtime it resumes from the watermark, so there is no gap
and no double count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import CostRecord, Instance, InstanceEvent
from app.db.types import money, utcnow
from app.services import leases

PERIOD = timedelta(minutes=15)
BILLABLE_STATES = frozenset({"provisioning", "running", "stopping"})
"""Providers bill from allocation (booting included) until the machine is stopped or gone."""
FINAL_STATES = frozenset({"terminated", "failed"})
LATE_EVENT_MARGIN = timedelta(minutes=30)
"""How far back an event may still arrive: a sync stamps events with the time it started, before
its provider calls, and commits them afterwards. Periods this recent are recomputed on every run."""
ACCRUAL_LEASE_TTL = timedelta(seconds=60)
"""Renewed while accrual runs: a worker killed mid-run holds the next run back this long at most."""
_MICROS_PER_HOUR = Decimal(3_600_000_000)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def period_floor(at: datetime) -> datetime:
    return at - ((at - _EPOCH) % PERIOD)


@dataclass(frozen=True)
class Segment:
    start: datetime
    end: datetime
    price_per_hour: Decimal


def billable_segments(events: Sequence[InstanceEvent], until: datetime) -> list[Segment]:
    """Billable stretches between consecutive events (the last one runs until ``until``)."""
    ordered = sorted(events, key=lambda e: (e.at, e.id or 0))
    segments = []
    for event, following in zip(ordered, [*ordered[1:], None]):
        end = min(following.at if following else until, until)
        if event.status in BILLABLE_STATES and event.price_per_hour is not None and end > event.at:
            segments.append(Segment(event.at, end, event.price_per_hour))
    return segments


def split_into_periods(segments: Iterable[Segment]) -> dict[tuple[datetime, Decimal], timedelta]:
    """(period start, price) -> billable time inside that period."""
    out: dict[tuple[datetime, Decimal], timedelta] = defaultdict(timedelta)
    for seg in segments:
        cursor = seg.start
        while cursor < seg.end:
            period = period_floor(cursor)
            stop = min(period + PERIOD, seg.end)
            out[(period, seg.price_per_hour)] += stop - cursor
            cursor = stop
    return out


def amount_for(price_per_hour: Decimal, duration: timedelta) -> Decimal:
    micros = Decimal(duration // timedelta(microseconds=1))
    return money(price_per_hour * micros / _MICROS_PER_HOUR)


def cost_rows(instance: Instance, events: Sequence[InstanceEvent], since: datetime, until: datetime) -> list[dict]:
    periods = split_into_periods(billable_segments(events, until))
    return [
        dict(instance_id=instance.id, workspace_id=instance.workspace_id, project_id=instance.project_id,
             user_id=instance.user_id,
             provider=instance.provider, gpu_slug=instance.gpu_slug,
             period_start=period, billable_seconds=int(duration.total_seconds()), price_per_hour=price,
             amount=amount_for(price, duration))
        for (period, price), duration in sorted(periods.items())
        if period >= since and duration > timedelta(0)
    ]


async def accrue_instance(session: AsyncSession, instance: Instance, now: datetime) -> int:
    events = list((await session.execute(
        select(InstanceEvent).where(InstanceEvent.instance_id == instance.id))).scalars())
    if not events:
        return 0
    first = min(e.at for e in events)
    since = period_floor(instance.cost_accrued_until or first)
    final = instance.status in FINAL_STATES
    until = min(now, instance.terminated_at) if final and instance.terminated_at else now
    rows = cost_rows(instance, events, since, until)
    await session.execute(delete(CostRecord).where(CostRecord.instance_id == instance.id,
                                                   CostRecord.period_start >= since))
    if rows:
        await session.execute(insert(CostRecord), rows)
    # Periods older than the margin can no longer change (unless an even later event arrives,
    # which moves the watermark back: see note_late_event).
    instance.cost_accrued_until = (period_floor(until - LATE_EVENT_MARGIN) if not final
                                   else period_floor(until) + PERIOD)
    return len(rows)


def note_late_event(instance: Instance, at: datetime) -> None:
    """An event recorded for a time before the watermark re-opens those periods."""
    if instance.cost_accrued_until is not None and at < instance.cost_accrued_until:
        instance.cost_accrued_until = period_floor(at)


async def accrue_costs(sessions: async_sessionmaker[AsyncSession], now: datetime | None = None,
                       batch_size: int = 200) -> int:
    """The scheduler job. One worker at a time (lease); each instance in its own short transaction."""
    now = now or utcnow()
    written = 0
    async with leases.held(sessions, "costs:accrue", ACCRUAL_LEASE_TTL) as mine:
        if not mine:
            return 0
        async with sessions() as session:
            ids = list((await session.execute(
                select(Instance.id).where(or_(
                    Instance.cost_accrued_until.is_(None),
                    Instance.status.not_in(FINAL_STATES),
                    Instance.terminated_at >= Instance.cost_accrued_until,
                )).order_by(Instance.id))).scalars())
        for start in range(0, len(ids), batch_size):
            async with sessions() as session, session.begin():
                for instance in (await session.execute(
                        select(Instance).where(Instance.id.in_(ids[start:start + batch_size])))).scalars():
                    written += await accrue_instance(session, instance, now)
    return written
