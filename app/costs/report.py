"""What ``/costs`` shows: the cards, the trend, where the money goes (in an organization also by
project and by member), the detailed history and its CSV. Sums come from SQL
(``app.costs.queries``); the views are cut from one frame of daily rows (``dashboards.cost_frames``),
so the range total, the charts, the tables and the CSV always agree."""

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
from app.costs import members, queries
from app.costs.filters import DEFAULT_DAYS, PAGE_SIZE, CostFilters, parse_filters
from app.costs.queries import from_micros
from app.db.models import User
from app.services.prices import InvalidQuery
from app.web.charts import PALETTE
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
    member: str | None = None


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
    key: str = ""
    """The project's or member's id (by project / by member), for links and tests."""


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
    member_options: list[Option] = ()
    by_project: list[Share] = ()
    project_json: str | None = None
    by_member: list[Share] = ()
    member_json: str | None = None
    """By project and by member: an organization's only (a personal workspace has one member)."""

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


async def range_frame(session: AsyncSession, scope: Scope, zone: ZoneInfo, filters: CostFilters) -> pd.DataFrame:
    frame = await queries.daily_costs(session, scope.workspace_id, zone, filters.first, filters.last, filters.provider,
                                      filters.gpu, await _project_ids(session, scope, filters), filters.member)
    return cost_frames.history(frame)


NO_PROJECT = "No project"


def keyed_totals(frame: pd.DataFrame, column: str, names: dict[int, str], missing: str) -> list[Share]:
    """Exact micro-dollar sums per id in ``column`` (project_id, user_id), labelled from ``names``,
    largest first (ties by label); an id without a name (none, a deleted project) is ``missing``."""
    totals: dict[int, int] = {}
    for key, micros in zip(frame[column].astype(object).tolist(), frame["amount_micros"].tolist()):
        key = 0 if key is None or pd.isna(key) else int(key)
        totals[key] = totals.get(key, 0) + int(micros)
    labelled = [(names.get(key, missing) if key else missing, key, micros) for key, micros in totals.items() if micros > 0]
    return [Share(label, from_micros(micros), str(key) if key in names else "")
            for label, key, micros in sorted(labelled, key=lambda item: (-item[2], item[0]))]


def _series(shares: list[Share]) -> pd.Series:
    """Shares as the charts take them: micro-dollars indexed by label, largest first."""
    return pd.Series([queries.to_micros(s.amount) for s in shares], index=[s.label for s in shares], dtype="int64")


def _day_label(day: date, with_year: bool) -> str:
    return f"{day:%b} {day.day}" + (f", {day.year}" if with_year else "")


def range_label(filters: CostFilters) -> str:
    """"last 30 days", "Nov 18, 2026", "Nov 18 – Nov 19, 2026", "Dec 20, 2025 – Jan 3, 2026"."""
    if not filters.chosen_range:
        return f"last {DEFAULT_DAYS} days"
    if filters.first == filters.last:
        return _day_label(filters.first, True)
    return f"{_day_label(filters.first, filters.first.year != filters.last.year)} – {_day_label(filters.last, True)}"


async def cost_cards(session: AsyncSession, scope: Scope, zone: ZoneInfo, today: date, filters: CostFilters,
                 range_total: Decimal) -> list[Card]:
    month, week = month_start(today), week_start(today)
    project_ids = await _project_ids(session, scope, filters)
    calendar = await queries.calendar_totals(session, scope.workspace_id, local_midnight(zone, month),
                                             local_midnight(zone, week), filters.provider, filters.gpu, project_ids,
                                             filters.member)
    burn, billed = await queries.hourly_burn(session, scope.workspace_id, filters.provider, filters.gpu, project_ids,
                                             filters.member)
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


async def checked_filters(session: AsyncSession, user: User, scope: Scope, raw: RawFilters,
                          now: datetime) -> tuple[ZoneInfo, date, CostFilters, dict[int, str]]:
    """The filters, validated (a member outside the workspace: 400), and the members' names."""
    zone = user_zone(user)
    today = local_today(zone, now)
    filters = parse_filters(today, raw.date_from, raw.date_to, raw.provider, raw.gpu, raw.page, raw.project,
                            raw.member)
    names = await members.member_names(session, scope)
    members.check_member(names, filters.member)
    return zone, today, filters, names


async def project_names(session: AsyncSession, scope: Scope) -> dict[int, str]:
    return {p.id: p.name for p in await projects.list_projects(session, scope)}


async def cost_report(session: AsyncSession, user: User, scope: Scope, raw: RawFilters, now: datetime) -> CostReport:
    """The workspace's costs, in the user's time zone."""
    zone, today, filters, names = await checked_filters(session, user, scope, raw, now)
    history = await range_frame(session, scope, zone, filters)
    pages = cost_frames.page_count(history, PAGE_SIZE)
    if filters.page > pages:
        raise InvalidQuery(f"page: these filters give {pages} page{'' if pages == 1 else 's'}", "page")
    daily = cost_frames.daily_totals(history, filters.each_day())
    by_gpu = cost_frames.totals_by(history, "gpu_slug", gpu_name)
    by_provider = cost_frames.totals_by(history, "provider", provider_display_name)
    provider_options, gpu_options = await _options(session, scope.workspace_id, filters)
    range_total = from_micros(int(history["amount_micros"].sum()))
    project_choices = await project_names(session, scope) if scope.is_org else {}
    by_project = keyed_totals(history, "project_id", project_choices, NO_PROJECT) if scope.is_org else []
    by_member = keyed_totals(history, "user_id", names, "Unknown") if scope.is_org else []
    return CostReport(
        filters=filters, zone=zone.key, cards=await cost_cards(session, scope, zone, today, filters, range_total),
        range_total=range_total,
        days=[DayCost(day, from_micros(micros)) for day, micros in daily.items()],
        trend_json=cost_charts.daily_figure(daily),
        by_gpu=_shares(by_gpu), gpu_json=cost_charts.share_figure(by_gpu, "Cost by GPU type"),
        by_provider=_shares(by_provider), provider_json=cost_charts.bar_figure(by_provider, "Cost by provider"),
        rows=_rows(cost_frames.page_of(history, filters.page, PAGE_SIZE)), row_count=len(history), pages=pages,
        provider_options=provider_options, gpu_options=gpu_options,
        project_options=[Option(str(key), name) for key, name in project_choices.items()],
        member_options=[Option(str(key), name) for key, name in names.items()] if scope.is_org else [],
        by_project=by_project, project_json=cost_charts.share_figure(_series(by_project), "Cost by project"),
        by_member=by_member, member_json=cost_charts.bar_figure(_series(by_member), "Cost by member", PALETTE[3]),
    )


async def cost_export(session: AsyncSession, user: User, scope: Scope, raw: RawFilters, now: datetime) -> tuple[str, str]:
    """(file name, CSV text) of every row the table shows under these filters, all pages."""
    zone, _, filters, names = await checked_filters(session, user, scope, raw, now)
    history = await range_frame(session, scope, zone, filters)
    name = f"computehub-costs-{filters.first.isoformat()}-to-{filters.last.isoformat()}.csv"
    project_name = member_name = None
    if scope.is_org:  # a personal workspace has no projects nor other members: its file keeps its columns
        project_choices = await project_names(session, scope)
        project_name = lambda project_id: project_choices.get(project_id, "") if project_id else ""  # noqa: E731
        member_name = lambda user_id: names.get(user_id, "")  # noqa: E731
    return name, cost_csv.history_csv(history, provider_display_name, gpu_name, project_name, member_name)
