"""The cost pages' SQL: sums are taken in the database, scoped to one user, so a page reads a few
hundred aggregated rows however many 15-minute cost records there are.

Days are the user's local days, daylight saving included: the query computes each record's local
date from the zone's UTC offsets (``app.costs.sql_time``), on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Select, case, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.costs.accrual import BILLABLE_STATES, FINAL_STATES
from app.costs.sql_time import day_from_number, local_day_number
from app.db.models import CostRecord, Instance, InstanceEvent, ProviderBinding
from app.db.types import money
from dashboards.local_days import local_midnight, utc_offsets

ZERO = money(0)
MICROS = 6
"""Money leaves SQL as Decimal and is summed further as integer micro-dollars: exact and fast."""

DAILY_COLUMNS = ["day", "instance_id", "instance", "provider", "gpu_slug", "price_micros", "seconds", "amount_micros",
                 "project_id", "user_id"]


def to_micros(value: Decimal | None) -> int:
    return int((value or ZERO).scaleb(MICROS))


def from_micros(value: int) -> Decimal:
    return money(Decimal(int(value)).scaleb(-MICROS))


def _scoped(stmt: Select, workspace_id: int, provider: str | None, gpu: str | None,
            project_ids: tuple[int, ...] | None = None, member: int | None = None) -> Select:
    """``project_ids``: only these projects' records (a chosen project, or a limited member's);
    ``member``: only the records of instances that user launched (narrows, never widens)."""
    stmt = stmt.where(CostRecord.workspace_id == workspace_id)
    if member is not None:
        stmt = stmt.where(CostRecord.user_id == member)
    if project_ids is not None:
        stmt = stmt.where(CostRecord.project_id.in_(project_ids))
    if provider:
        stmt = stmt.where(CostRecord.provider == provider)
    if gpu:
        stmt = stmt.where(CostRecord.gpu_slug == gpu)
    return stmt


@dataclass(frozen=True)
class CalendarTotals:
    month: Decimal
    week: Decimal


async def calendar_totals(session: AsyncSession, workspace_id: int, month_start: datetime, week_start: datetime,
                          provider: str | None = None, gpu: str | None = None,
                          project_ids: tuple[int, ...] | None = None, member: int | None = None) -> CalendarTotals:
    """This month and this week (their starts: the user's local midnights), in one pass over the
    recent records only, through the (user, period) index."""
    def since(start: datetime):
        return func.sum(case((CostRecord.period_start >= start, CostRecord.amount)))

    stmt = _scoped(select(since(month_start), since(week_start)), workspace_id, provider, gpu, project_ids, member)
    month, week = (await session.execute(stmt.where(CostRecord.period_start >= min(month_start, week_start)))).one()
    return CalendarTotals(*(money(v) if v is not None else ZERO for v in (month, week)))


async def hourly_burn(session: AsyncSession, workspace_id: int, provider: str | None = None,
                      gpu: str | None = None, project_ids: tuple[int, ...] | None = None,
                      member: int | None = None) -> tuple[Decimal, int]:
    """What the user's instances cost per hour right now, and how many are billed: the price in
    force (the latest event's, as accrual uses it) of every instance in a billable state."""
    latest_price = (select(InstanceEvent.price_per_hour).where(InstanceEvent.instance_id == Instance.id)
                    .order_by(InstanceEvent.at.desc(), InstanceEvent.id.desc()).limit(1).scalar_subquery())
    stmt = select(latest_price).where(Instance.workspace_id == workspace_id, Instance.status.in_(BILLABLE_STATES))
    if provider:
        stmt = stmt.where(Instance.provider == provider)
    if gpu:
        stmt = stmt.where(Instance.gpu_slug == gpu)
    if project_ids is not None:
        stmt = stmt.where(Instance.project_id.in_(project_ids))
    if member is not None:
        stmt = stmt.where(Instance.user_id == member)
    prices = list((await session.execute(stmt)).scalars())
    return money(sum((p for p in prices if p is not None), ZERO)), len(prices)


async def daily_costs(session: AsyncSession, workspace_id: int, zone: ZoneInfo, first: date, last: date,
                      provider: str | None = None, gpu: str | None = None,
                      project_ids: tuple[int, ...] | None = None, member: int | None = None) -> pd.DataFrame:
    """Cost per local day (in ``zone``), instance and price, from ``first`` to ``last`` included.
    A day with a price change has a row per price (and one per project, when it moved that day).
    ``user_id`` is who launched the instance (one per instance, so it adds no rows)."""
    start, end = local_midnight(zone, first), local_midnight(zone, last + timedelta(days=1))
    day = local_day_number(CostRecord.period_start, utc_offsets(zone, start, end))
    # Narrow keys, so the database can hash them; the instances' names come in a second, small query.
    stmt = _scoped(
        select(day, CostRecord.instance_id, CostRecord.price_per_hour,
               func.sum(CostRecord.billable_seconds), func.sum(CostRecord.amount), CostRecord.project_id,
               CostRecord.user_id)
        .where(CostRecord.period_start >= start, CostRecord.period_start < end)
        .group_by(day, CostRecord.instance_id, CostRecord.price_per_hour, CostRecord.project_id, CostRecord.user_id),
        workspace_id, provider, gpu, project_ids, member)
    rows = (await session.execute(stmt)).all()
    instances = await _instances(session, workspace_id, {row[1] for row in rows})
    return pd.DataFrame(
        [(day_from_number(number), iid, *instances[iid], to_micros(price), int(seconds), to_micros(amount), project,
          who) for number, iid, price, seconds, amount, project, who in rows],
        columns=DAILY_COLUMNS,
    ).astype({"instance_id": "int64", "price_micros": "int64", "seconds": "int64", "amount_micros": "int64",
              "user_id": "int64"})


async def _instances(session: AsyncSession, workspace_id: int, ids: set[int]) -> dict[int, tuple[str, str, str | None]]:
    """id -> (name, provider, gpu slug), for the instances that have costs in the range."""
    if not ids:
        return {}
    rows = await session.execute(select(Instance.id, Instance.name, Instance.provider, Instance.gpu_slug)
                                 .where(Instance.workspace_id == workspace_id, Instance.id.in_(ids)))
    return {iid: (name, provider, slug) for iid, name, provider, slug in rows}


async def cost_dimensions(session: AsyncSession, workspace_id: int) -> tuple[list[str], list[str]]:
    """The providers and GPUs the user has deployed on: the filters' choices. Read from the
    instances, which are few, rather than from the (many) cost records they produced."""
    rows = (await session.execute(
        select(Instance.provider, Instance.gpu_slug).where(Instance.workspace_id == workspace_id).distinct())).all()
    return sorted({p for p, _ in rows}), sorted({g for _, g in rows if g})


@dataclass(frozen=True)
class DeploymentCounts:
    total: int
    active: int
    """Not terminated or failed (what the deployments list shows)."""
    billed_now: int
    """In a billable state right now (booting, running, stopping)."""
    running: int = 0
    stopped: int = 0
    changing: int = 0
    """Launching, booting, stopping or being deleted."""
    unknown: int = 0
    """The provider reports a state ComputeHub does not know."""


CHANGING_STATES = ("launching", "provisioning", "stopping", "terminating")


def _in_projects(column, project_ids: tuple[int, ...] | None):
    return column.in_(project_ids) if project_ids is not None else true()


async def deployment_counts(session: AsyncSession, workspace_id: int,
                            project_ids: tuple[int, ...] | None = None) -> DeploymentCounts:
    row = (await session.execute(select(
        func.count(),
        func.count(case((Instance.status.not_in(FINAL_STATES), 1))),
        func.count(case((Instance.status.in_(BILLABLE_STATES), 1))),
        func.count(case((Instance.status == "running", 1))),
        func.count(case((Instance.status == "stopped", 1))),
        func.count(case((Instance.status.in_(CHANGING_STATES), 1))),
        func.count(case((Instance.status == "unknown", 1))),
    ).where(Instance.workspace_id == workspace_id, _in_projects(Instance.project_id, project_ids)))).one()
    return DeploymentCounts(*row)


async def binding_count(session: AsyncSession, workspace_id: int, project_ids: tuple[int, ...] | None = None) -> int:
    return (await session.execute(
        select(func.count()).select_from(ProviderBinding).where(
            ProviderBinding.workspace_id == workspace_id, _in_projects(ProviderBinding.project_id, project_ids)))
    ).scalar_one()


async def recent_instances(session: AsyncSession, workspace_id: int, limit: int = 5,
                           project_ids: tuple[int, ...] | None = None) -> list[Instance]:
    return list((await session.execute(
        select(Instance).where(Instance.workspace_id == workspace_id, _in_projects(Instance.project_id, project_ids))
        .order_by(Instance.created_at.desc(), Instance.id.desc()).limit(limit))).scalars())
