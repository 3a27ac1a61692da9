"""The audit log as the workspace sees it: filters (kind of change, project, local days), pages, CSV."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import AuditEvent
from app.services.inputs import InvalidField, parse_day, parse_page
from dashboards.local_days import local_midnight

PAGE_SIZE = 50
MAX_PAGE = 100_000
CSV_LIMIT = 100_000
KINDS = {
    "auth": "Sign-in and security",
    "account": "Account",
    "key": "Provider keys",
    "instance": "Deployments",
    "template": "Templates",
    "budget": "Budget",
    "quota": "Quota",
    "subscription": "Subscription",
    "api_token": "API tokens",
    "org": "Organization, members and invitations",
    "project": "Projects",
    "migration": "Migrations",
}
"""The part of an action before the dot, and how the filter names it."""


@dataclass(frozen=True)
class AuditFilters:
    kind: str | None = None
    project: int | None = None
    """One of the organization's projects: its deployments', keys' and its own changes."""
    day_from: date | None = None
    day_to: date | None = None
    """Local days in the viewer's time zone, both included."""
    page: int = 1

    def query(self, page: int | None = None) -> str:
        params = {"kind": self.kind, "project": str(self.project) if self.project else None, "from": self.day_from.isoformat() if self.day_from else None,
                  "to": self.day_to.isoformat() if self.day_to else None}
        params = {k: v for k, v in params.items() if v}
        if (page or self.page) > 1:
            params["page"] = str(page or self.page)
        return urlencode(params)


def parse_filters(params, project_ids: frozenset[int] = frozenset()) -> AuditFilters:
    """``project_ids``: the workspace's projects, the only ones the project filter may name."""
    kind = (params.get("kind") or "").strip() or None
    if kind is not None and kind not in KINDS:
        raise InvalidField(f"choose one of: {', '.join(KINDS)}", "kind")
    project = (params.get("project") or "").strip() or None
    if project is not None and not (len(project) <= 10 and project.isascii() and project.isdigit()
                                    and int(project) in project_ids):
        raise InvalidField("choose a project from the list", "project")
    first, last = parse_day(params.get("from"), "from"), parse_day(params.get("to"), "to")
    if first and last and first > last:
        raise InvalidField("the start date is after the end date", "from")
    return AuditFilters(kind, int(project) if project else None, first, last, parse_page(params.get("page"), MAX_PAGE))


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    total: int
    filters: AuditFilters

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def _where(workspace: str, filters: AuditFilters, zone: ZoneInfo) -> list:
    where = [AuditEvent.workspace == workspace]
    if filters.kind:
        where.append(AuditEvent.action.like(f"{filters.kind}.%"))
    if filters.project:
        where.append(AuditEvent.project == str(filters.project))
    if filters.day_from:
        where.append(AuditEvent.at >= local_midnight(zone, filters.day_from))
    if filters.day_to:
        where.append(AuditEvent.at < local_midnight(zone, filters.day_to + timedelta(days=1)))
    return where


async def audit_page(session: AsyncSession, workspace: str, filters: AuditFilters, zone: ZoneInfo) -> AuditPage:
    where = _where(workspace, filters, zone)
    total = (await session.execute(select(func.count()).select_from(AuditEvent).where(*where))).scalar_one()
    events = (await session.execute(select(AuditEvent).where(*where).order_by(AuditEvent.seq.desc())
                                    .limit(PAGE_SIZE).offset((filters.page - 1) * PAGE_SIZE))).scalars()
    return AuditPage(list(events), total, filters)


CSV_COLUMNS = ("seq", "at_utc", "action", "actor", "target_type", "target_id", "project", "address", "user_agent",
               "request_id", "via", "before", "after", "hash", "prev_hash")


async def audit_csv(session: AsyncSession, workspace: str, filters: AuditFilters, zone: ZoneInfo) -> str:
    """Oldest first, with the hashes, so an export can be checked against the chain."""
    rows = (await session.execute(select(AuditEvent).where(*_where(workspace, filters, zone))
                                  .order_by(AuditEvent.seq).limit(CSV_LIMIT))).scalars()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for e in rows:
        writer.writerow([e.seq, e.at.isoformat(), e.action, e.actor, e.target_type, e.target_id, e.project,
                         e.address, e.user_agent, e.request_id, e.via, _json(e.before), _json(e.after), e.hash,
                         e.prev_hash])
    return out.getvalue()


def _json(value) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


def changes(event: AuditEvent) -> list[tuple[str, str, str]]:
    """(field, before, after) for display; a field only on one side shows a dash on the other."""
    before, after = event.before or {}, event.after or {}
    shown = []
    for name in dict.fromkeys([*before, *after]):
        old, new = before.get(name), after.get(name)
        if name in before and name in after and old == new:
            continue
        shown.append((name, "–" if name not in before else _text(old), "–" if name not in after else _text(new)))
    return shown


def _text(value) -> str:
    return "none" if value is None else str(value)
