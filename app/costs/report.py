"""What ``/costs`` shows: the cards, the trend, where the money goes, the detailed history and its
CSV. Sums come from SQL (``app.costs.queries``); the views are cut from one frame of daily rows
(``dashboards.cost_frames``), so the range total, the chart, the table and the CSV always agree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from app.workspaces import projects
from app.workspaces.scope import Scope
from app.console.overview import provider_display_name
from app.costs import queries
from app.costs.filters import DEFAULT_DAYS, PAGE_SIZE, CostFilters, parse_filters
from app.costs.queries import from_micros
from app.db.models import User
from app.services.prices import InvalidQuery
from app.web.localtime import user_zone
from dashboards import cost_charts, cost_csv, cost_frames
from dashboards.local_days import local_midnight, local_today, month_start, week_start
from providers.gpus import GPUS

NO_GPU = "GPU not reported"


def gpu_name(slug: str | None) -> str:
    gpu = GPUS.get(slug) if slug else None
    return gpu.name if gpu else NO_GPU


@dataclass(frozen=True)
class RawFilters:
    """The query string as typed; ``parse_filters`` validates it against the user's today."""
    date_from: str | None = None
    date_to: str | None = None
    provider: str | None = None
    gpu: str | None = None
    page: int | str = 1
    project: str | None = None


@dataclass(frozen=True)
class Card:
    key: str
    label: str
    amount: Decimal
    note: str
    per_hour: bool = False


@dataclass(frozen=True)
class DayCost:
    day: date
    amount: Decimal


@dataclass(frozen=True)
class Share:
    label: str
    amount: Decimal


@dataclass(frozen=True)
class HistoryRow:
    day: date
    instance_id: int
    instance: str
    provider: str
    provider_name: str
    gpu: str
    hours: Decimal
    price_per_hour: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class CostReport:
    filters: CostFilters
    zone: str
    cards: list[Card]
    range_total: Decimal
    days: list[DayCost]
    trend_json: str
    by_gpu: list[Share]
    gpu_json: str | None
    by_provider: list[Share]
    provider_json: str | None
    rows: list[HistoryRow]
    row_count: int
    pages: int
    provider_options: list[Option]
    gpu_options: list[Option]
    project_options: list[Option] = ()

    @property
    def export_url(self) -> str:
        query = self.filters.query(page=1)
        return "/costs/export.csv" + (f"?{query}" if query else "")

    def page_url(self, page: int) -> str:
        query = self.filters.query(page=page)
        return "/costs" + (f"?{query}" if query else "")


def _shares(series: pd.Series) -> list[Share]:
    return [Share(str(label), from_micros(micros)) for label, micros in series.items()]


def _rows(frame: pd.DataFrame) -> list[HistoryRow]:
    return [
        HistoryRow(day=r.day, instance_id=int(r.instance_id), instance=r.instance, provider=r.provider,
                   provider_name=provider_display_name(r.provider),
                   gpu=gpu_name(r.gpu_slug if isinstance(r.gpu_slug, str) else None),
                   hours=(Decimal(int(r.seconds)) / 3600).quantize(Decimal("0.01")),
                   price_per_hour=from_micros(r.price_micros), amount=from_micros(r.amount_micros))
        for r in frame.itertuples(index=False)
    ]


async def _project_ids(session: AsyncSession, scope: Scope, filters: CostFilters) -> tuple[int, ...] | None:
    """The projects whose costs count: the chosen one (another workspace's: 404), else a limited
    member's own, else all (None)."""
    if filters.project is not None:
        return ((await projects.get(session, scope, filters.project)).id,)
    return tuple(sorted(scope.project_ids)) if scope.project_ids is not None else None


async def _range_frame(session: AsyncSession, scope: Scope, zone: ZoneInfo, filters: CostFilters) -> pd.DataFrame:
    frame = await queries.daily_costs(session, scope.workspace_id, zone, filters.first, filters.last, filters.provider,
                                      filters.gpu, await _project_ids(session, scope, filters))
    return cost_frames.history(frame)


def _day_label(day: date, with_year: bool) -> str:
    return f"{day:%b} {day.day}" + (f", {day.year}" if with_year else "")


def range_label(filters: CostFilters) -> str:
    """"last 30 days", "Nov 18, 2026", "Nov 18 – Nov 19, 2026", "Dec 20, 2025 – Jan 3, 2026"."""
    if not filters.chosen_range:
        return f"last {DEFAULT_DAYS} days"
    if filters.first == filters.last:
        return _day_label(filters.first, True)
    return f"{_day_label(filters.first, filters.first.year != filters.last.year)} – {_day_label(filters.last, True)}"


async def _cards(session: AsyncSession, scope: Scope, zone: ZoneInfo, today: date, filters: CostFilters,
                 range_total: Decimal) -> list[Card]:
    month, week = month_start(today), week_start(today)
    project_ids = await _project_ids(session, scope, filters)
    calendar = await queries.calendar_totals(session, scope.workspace_id, local_midnight(zone, month),
                                             local_midnight(zone, week), filters.provider, filters.gpu, project_ids)
    burn, billed = await queries.hourly_burn(session, scope.workspace_id, filters.provider, filters.gpu, project_ids)
    return [
        Card("total", "Total", range_total, range_label(filters)),
        Card("month", "This month", calendar.month, f"since {month:%b} 1"),
        Card("week", "This week", calendar.week, f"since Monday {week:%b} {week.day}"),
        Card("burn", "Burning now", burn,
             f"{billed} instance{'' if billed == 1 else 's'} billed right now", per_hour=True),
    ]


async def _options(session: AsyncSession, workspace_id: int, filters: CostFilters) -> tuple[list[Option], list[Option]]:
    providers, gpus = await queries.cost_dimensions(session, workspace_id)
    # A chosen value stays selectable even when the user has no deployment there (yet).
    providers = sorted(set(providers) | ({filters.provider} if filters.provider else set()))
    gpus = sorted(set(gpus) | ({filters.gpu} if filters.gpu else set()))
    return ([Option(p, provider_display_name(p)) for p in providers],
            sorted((Option(g, gpu_name(g)) for g in gpus), key=lambda o: o.label))


def _filters(user: User, raw: RawFilters, now: datetime) -> tuple[ZoneInfo, date, CostFilters]:
    zone = user_zone(user)
    today = local_today(zone, now)
    return zone, today, parse_filters(today, raw.date_from, raw.date_to, raw.provider, raw.gpu, raw.page, raw.project)


async def cost_report(session: AsyncSession, user: User, scope: Scope, raw: RawFilters, now: datetime) -> CostReport:
    """The workspace's costs, in the user's time zone."""
    zone, today, filters = _filters(user, raw, now)
    history = await _range_frame(session, scope, zone, filters)
    pages = cost_frames.page_count(history, PAGE_SIZE)
    if filters.page > pages:
        raise InvalidQuery(f"page: these filters give {pages} page{'' if pages == 1 else 's'}", "page")
    daily = cost_frames.daily_totals(history, filters.each_day())
    by_gpu = cost_frames.totals_by(history, "gpu_slug", gpu_name)
    by_provider = cost_frames.totals_by(history, "provider", provider_display_name)
    provider_options, gpu_options = await _options(session, scope.workspace_id, filters)
    range_total = from_micros(int(history["amount_micros"].sum()))
    return CostReport(
        filters=filters, zone=zone.key, cards=await _cards(session, scope, zone, today, filters, range_total),
        range_total=range_total,
        days=[DayCost(day, from_micros(micros)) for day, micros in daily.items()],
        trend_json=cost_charts.daily_figure(daily),
        by_gpu=_shares(by_gpu), gpu_json=cost_charts.share_figure(by_gpu, "Cost by GPU type"),
        by_provider=_shares(by_provider), provider_json=cost_charts.bar_figure(by_provider, "Cost by provider"),
        rows=_rows(cost_frames.page_of(history, filters.page, PAGE_SIZE)), row_count=len(history), pages=pages,
        provider_options=provider_options, gpu_options=gpu_options,
        project_options=[Option(str(p.id), p.name) for p in await projects.list_projects(session, scope)],
    )


async def cost_export(session: AsyncSession, user: User, scope: Scope, raw: RawFilters, now: datetime) -> tuple[str, str]:
    """(file name, CSV text) of every row the table shows under these filters, all pages."""
    zone, _, filters = _filters(user, raw, now)
    history = await _range_frame(session, scope, zone, filters)
    name = f"computehub-costs-{filters.first.isoformat()}-to-{filters.last.isoformat()}.csv"
    project_name = None
    if scope.is_org:  # a personal workspace has no projects: its file keeps its columns
        names = {p.id: p.name for p in await projects.list_projects(session, scope)}
        project_name = lambda project_id: names.get(project_id, "") if project_id else ""  # noqa: E731
    return name, cost_csv.history_csv(history, provider_display_name, gpu_name, project_name)


@dataclass(frozen=True)
class Group:
    key: str
    label: str
    amount: Decimal


@dataclass(frozen=True)
class CostBreakdown:
    """The console API's costs: the page's cards and shares, and the same range per deployment."""
    filters: CostFilters
    zone: str
    total: Decimal
    this_month: Decimal
    this_week: Decimal
    burn_per_hour: Decimal
    by_provider: list[Group]
    by_gpu: list[Group]
    by_deployment: list[Group]


def _groups(frame: pd.DataFrame, column: str, label_column: str | None = None,
            label=lambda key: key) -> list[Group]:
    """Exact sums per key (micro-dollars, then Decimal), largest first, like the page's shares."""
    if not len(frame):
        return []
    keys = ["" if k is None or (isinstance(k, float) and pd.isna(k)) else str(k) for k in frame[column].astype(object)]
    labels = frame[label_column].astype(str).tolist() if label_column else [label(k or None) for k in keys]
    totals: dict[str, int] = {}
    names: dict[str, str] = {}
    for key, name, micros in zip(keys, labels, frame["amount_micros"].tolist()):
        totals[key] = totals.get(key, 0) + int(micros)
        names.setdefault(key, name)
    ordered = sorted((item for item in totals.items() if item[1] > 0), key=lambda item: (-item[1], names[item[0]]))
    return [Group(key, names[key], from_micros(micros)) for key, micros in ordered]


async def cost_breakdown(session: AsyncSession, user: User, scope: Scope, raw: RawFilters, now: datetime) -> CostBreakdown:
    zone, today, filters = _filters(user, raw, now)
    history = await _range_frame(session, scope, zone, filters)
    total = from_micros(int(history["amount_micros"].sum())) if len(history) else from_micros(0)
    cards = {card.key: card.amount for card in await _cards(session, scope, zone, today, filters, total)}
    return CostBreakdown(
        filters=filters, zone=zone.key, total=total, this_month=cards["month"], this_week=cards["week"],
        burn_per_hour=cards["burn"],
        by_provider=_groups(history, "provider", label=provider_display_name),
        by_gpu=_groups(history, "gpu_slug", label=gpu_name),
        by_deployment=_groups(history, "instance_id", "instance"),
    )
