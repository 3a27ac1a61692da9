"""Monthly statements: one calendar month of costs (the user's local month), with totals by provider,
by GPU and by deployment; an organization's also by project and by member, and a project's
statement (``project=<id>``) covers that one project. One ``Statement`` feeds the page, the CSV and
the PDF, so they always agree; its sums come from the same daily rows as ``/costs``
(``queries.daily_costs``), exact to the micro-dollar."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.overview import provider_display_name
from app.costs import queries
from app.costs.queries import from_micros
from app.costs.members import member_names
from app.costs.report import NO_PROJECT, gpu_name, project_names
from app.db.models import CostRecord, Project, User, Workspace
from app.services.inputs import EARLIEST_DAY, LATEST_DAY, InvalidField
from app.web.localtime import user_zone
from app.workspaces import projects
from app.workspaces.scope import Scope
from dashboards.local_days import local_today

LISTED_MONTHS = 12
"""How many recent months ``/costs/statements`` lists with their totals; older ones by the month field."""
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_HOUR = Decimal(3600)


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return self.first_day.strftime("%B %Y")

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.following.first_day - timedelta(days=1)

    @property
    def following(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def preceding(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)


def parse_month(text: str | None, today: date, field: str = "month") -> Month:
    """``2026-11`` as typed; a month that has not begun yet (in the user's zone) has no statement."""
    value = (text or "").strip()
    match = _MONTH.match(value)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise InvalidField(f"expected a month like 2026-11, got {value[:40]!r}", field)
    month = Month(int(match.group(1)), int(match.group(2)))
    if not Month.of(EARLIEST_DAY) <= month <= Month.of(LATEST_DAY):
        raise InvalidField(f"choose a month between {Month.of(EARLIEST_DAY).key} and {Month.of(LATEST_DAY).key}", field)
    if month > Month.of(today):
        raise InvalidField(f"{month.label} has not begun yet", field)
    return month


def hours(seconds: int) -> Decimal:
    return Decimal(int(seconds)) / _HOUR


@dataclass(frozen=True)
class Line:
    """One row of a statement table: a provider, a GPU, a deployment, or a provider and GPU pair."""
    label: str
    hours: Decimal
    amount: Decimal
    detail: str = ""
    deployments: int = 0
    key: str = ""
    project: str = ""
    member: str = ""
    """A deployment's project and who launched it (an organization's statement)."""


@dataclass(frozen=True)
class ProjectRef:
    id: int
    name: str


@dataclass(frozen=True)
class Statement:
    owner: str
    zone: str
    month: Month
    generated_at: datetime
    complete: bool
    """The month is over; else the statement runs to now and will still grow."""
    total: Decimal
    total_hours: Decimal
    by_provider: list[Line]
    by_gpu: list[Line]
    by_provider_and_gpu: list[Line]
    deployments: list[Line]
    by_project: list[Line] = ()
    by_member: list[Line] = ()
    """An organization's only; a project's statement has no by-project table."""
    is_org: bool = False
    project: ProjectRef | None = None
    """The one project this statement covers, else None (the whole workspace, as the reader sees it)."""

    def filename(self, extension: str) -> str:
        suffix = f"-project-{self.project.id}" if self.project else ""
        return f"computehub-statement-{self.month.key}{suffix}.{extension}"

    @property
    def query(self) -> str:
        """What links to this statement's files and other months add: its project, if any."""
        return f"?project={self.project.id}" if self.project else ""


def _lines(frame: pd.DataFrame, keys: list[str], label) -> list[Line]:
    """Rows of ``frame`` summed by ``keys``, largest amount first (ties by label)."""
    if frame.empty:
        return []
    grouped = (frame.assign(gpu_slug=frame["gpu_slug"].astype(object).where(frame["gpu_slug"].notna(), ""),
                            project_id=[0 if p is None or pd.isna(p) else int(p)
                                        for p in frame["project_id"].astype(object)])
               .groupby(keys, sort=False)
               .agg(seconds=("seconds", "sum"), amount=("amount_micros", "sum"), deployments=("instance_id", "nunique")))
    lines = [Line(key=":".join(str(k) for k in (index if isinstance(index, tuple) else (index,))),
                  deployments=int(row.deployments), hours=hours(row.seconds), amount=from_micros(int(row.amount)),
                  **label(index if isinstance(index, tuple) else (index,)))
             for index, row in grouped.iterrows()]
    return sorted(lines, key=lambda line: (-line.amount, line.label))


async def _owner_label(session: AsyncSession, user: User, scope: Scope) -> str:
    """Who the statement is for: the account, or the organization (named) for an organization's
    (a project's statement names its project on a line of its own)."""
    if not scope.is_org:
        return user.email
    workspace = await session.get(Workspace, scope.workspace_id)
    return f"{workspace.name} (organization)" if workspace else user.email


def _gpu(slug: str) -> str:
    return gpu_name(slug or None)


def _limited_to(scope: Scope) -> tuple[int, ...] | None:
    """A member limited to projects reads their projects' part of the statement only."""
    return tuple(sorted(scope.project_ids)) if scope.project_ids is not None else None


async def statement_project(session: AsyncSession, scope: Scope, project_id: int | None) -> Project | None:
    """The project a statement is asked for: one the scope may see, else a 404 (``NoSuchProject``),
    in a personal workspace too."""
    return None if project_id is None else await projects.get(session, scope, project_id)


def _project_ids(scope: Scope, project: Project | None) -> tuple[int, ...] | None:
    return (project.id,) if project is not None else _limited_to(scope)


async def build_statement(session: AsyncSession, user: User, scope: Scope, month: Month, now: datetime,
                          project: Project | None = None) -> Statement:
    """The workspace's costs in ``month`` of the reader's time zone (only ``project``'s, if given:
    from ``statement_project``)."""
    zone = user_zone(user)
    today = local_today(zone, now)
    frame = await queries.daily_costs(session, scope.workspace_id, zone, month.first_day, month.last_day,
                                      project_ids=_project_ids(scope, project))
    names = dict(zip(frame["instance_id"], frame["instance"])) if not frame.empty else {}
    org = await _org_tables(session, scope, frame, project)
    deployments = org.pop("deployments", None) or _lines(
        frame, ["instance_id", "provider", "gpu_slug"],
        lambda k: {"label": str(names[k[0]]), "detail": f"{provider_display_name(k[1])} · {_gpu(k[2])}"})
    return Statement(
        owner=await _owner_label(session, user, scope), zone=zone.key, month=month, generated_at=now,
        complete=month.last_day < today, is_org=scope.is_org,
        project=ProjectRef(project.id, project.name) if project else None, **org,
        total=from_micros(int(frame["amount_micros"].sum())), total_hours=hours(int(frame["seconds"].sum())),
        by_provider=_lines(frame, ["provider"], lambda k: {"label": provider_display_name(k[0])}),
        by_gpu=_lines(frame, ["gpu_slug"], lambda k: {"label": _gpu(k[0])}),
        by_provider_and_gpu=_lines(frame, ["provider", "gpu_slug"],
                                   lambda k: {"label": provider_display_name(k[0]), "detail": _gpu(k[1])}),
        deployments=deployments,
    )


async def _org_tables(session: AsyncSession, scope: Scope, frame: pd.DataFrame, project: Project | None) -> dict:
    """An organization's by-project and by-member tables, and its deployments with their project
    and member (a deployment moved between projects in the month has a line per project)."""
    if not scope.is_org:
        return {}
    members = await member_names(session, scope)
    project_labels = await project_names(session, scope)
    names = dict(zip(frame["instance_id"], frame["instance"])) if not frame.empty else {}

    def project_label(key) -> str:
        return project_labels.get(int(key), NO_PROJECT) if key else NO_PROJECT

    def deployment(k) -> dict:
        return {"label": str(names[k[0]]), "detail": f"{provider_display_name(k[1])} · {_gpu(k[2])}",
                "project": project_label(k[3]), "member": members.get(int(k[4]), "")}

    return {
        "by_project": [] if project else _lines(frame, ["project_id"], lambda k: {"label": project_label(k[0])}),
        "by_member": _lines(frame, ["user_id"], lambda k: {"label": members.get(int(k[0]), "Unknown")}),
        "deployments": _lines(frame, ["instance_id", "provider", "gpu_slug", "project_id", "user_id"], deployment),
    }


@dataclass(frozen=True)
class MonthTotal:
    month: Month
    total: Decimal
    current: bool


async def recent_months(session: AsyncSession, user: User, scope: Scope, now: datetime,
                        project: Project | None = None) -> list[MonthTotal]:
    """The last ``LISTED_MONTHS`` months (this one first) back to the first with a cost, with totals."""
    zone = user_zone(user)
    today = local_today(zone, now)
    first_record = (await session.execute(
        select(func.min(CostRecord.period_start)).where(CostRecord.workspace_id == scope.workspace_id))).scalar()
    newest = Month.of(today)
    oldest = newest
    for _ in range(LISTED_MONTHS - 1):
        if first_record is None or oldest.first_day <= local_today(zone, first_record):
            break
        oldest = oldest.preceding
    frame = await queries.daily_costs(session, scope.workspace_id, zone, oldest.first_day, today,
                                      project_ids=_project_ids(scope, project))
    per_month: dict[Month, int] = {}
    for day, amount in zip(frame["day"], frame["amount_micros"]):
        per_month[Month.of(day)] = per_month.get(Month.of(day), 0) + int(amount)
    months, month = [], newest
    while month >= oldest:
        months.append(MonthTotal(month, from_micros(per_month.get(month, 0)), month == newest))
        month = month.preceding
    return months
