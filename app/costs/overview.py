"""The console's overview (``/console/overview``): what runs now, what it cost this month, the
latest deployments, the last 7 days of cost, and the first steps for a new account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.workspaces.scope import Scope
from app.console.overview import gpu_label, provider_display_name
from app.costs import queries
from app.costs.report import DayCost
from app.db.models import User
from app.web.localtime import user_zone
from dashboards import cost_charts, cost_frames
from dashboards.local_days import local_midnight, local_today, month_start, week_start

TREND_DAYS = 7
RECENT = 5


@dataclass(frozen=True)
class RecentDeployment:
    id: int
    name: str
    provider_name: str
    gpu: str
    status: str
    created_at: datetime
    price_per_hour: Decimal | None


@dataclass(frozen=True)
class Overview:
    name: str
    zone: str
    active: int
    billed_now: int
    running: int
    stopped: int
    changing: int
    unknown: int
    total_deployments: int
    month_cost: Decimal
    month_label: str
    burn_per_hour: Decimal
    recent: list[RecentDeployment]
    days: list[DayCost]
    trend_total: Decimal
    trend_json: str
    has_binding: bool

    @property
    def getting_started(self) -> bool:
        return not self.has_binding or not self.total_deployments


async def overview(session: AsyncSession, user: User, scope: Scope, now: datetime) -> Overview:
    zone = user_zone(user)
    today = local_today(zone, now)
    # A member limited to projects sees their projects' numbers only (see Scope.project_ids).
    mine = tuple(sorted(scope.project_ids)) if scope.project_ids is not None else None
    counts = await queries.deployment_counts(session, scope.workspace_id, mine)
    calendar = await queries.calendar_totals(session, scope.workspace_id, local_midnight(zone, month_start(today)),
                                             local_midnight(zone, week_start(today)), project_ids=mine)
    burn, _ = await queries.hourly_burn(session, scope.workspace_id, project_ids=mine)
    first = today - timedelta(days=TREND_DAYS - 1)
    daily = cost_frames.daily_totals(
        await queries.daily_costs(session, scope.workspace_id, zone, first, today, project_ids=mine),
        [first + timedelta(days=i) for i in range(TREND_DAYS)])
    recent = [
        RecentDeployment(r.id, r.name, provider_display_name(r.provider), gpu_label(r), r.status, r.created_at,
                         r.provider_price_per_hour if r.provider_price_per_hour is not None else r.offer_price_per_hour)
        for r in await queries.recent_instances(session, scope.workspace_id, RECENT, mine)
    ]
    return Overview(
        name=user.name, zone=zone.key, active=counts.active, billed_now=counts.billed_now,
        running=counts.running, stopped=counts.stopped, changing=counts.changing, unknown=counts.unknown,
        total_deployments=counts.total, month_cost=calendar.month, month_label=f"{today:%B %Y}",
        burn_per_hour=burn, recent=recent,
        days=[DayCost(day, queries.from_micros(m)) for day, m in daily.items()],
        trend_total=queries.from_micros(int(daily.sum())), trend_json=cost_charts.daily_figure(daily),
        has_binding=await queries.binding_count(session, scope.workspace_id, mine) > 0,
    )
