"""Deployment history (``/console/history``): the user's deployments that are gone (deleted at the
provider, or failed), newest first, filtered by provider, GPU, final state and the local day they
ended. The rows are the instances themselves: a deleted deployment keeps its row in a final state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.workspaces.scope import Owner, resolve
from app.console.instances import FINAL_STATES
from app.console.overview import gpu_label, provider_display_name
from app.db.models import Instance
from app.services.inputs import parse_day, parse_page
from app.services.prices import InvalidQuery
from dashboards.local_days import local_midnight
from providers.gpus import GPUS
from providers.registry import SIMULATED, SOURCES

PAGE_SIZE = 50
MAX_PAGE = 100_000
STATE_LABELS = {"terminated": "deleted", "failed": "failed"}


class HistoryFilterError(InvalidQuery):
    """A history filter we cannot honour; ``field`` names the form field (400, inputs kept)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field)


@dataclass(frozen=True)
class HistoryFilters:
    provider: str | None = None
    gpu: str | None = None
    state: str | None = None
    ended_from: date | None = None
    ended_to: date | None = None
    """Local days in the user's time zone, both included."""
    page: int = 1

    def query(self, page: int | None = None) -> str:
        params = {"provider": self.provider, "gpu": self.gpu, "state": self.state,
                  "from": self.ended_from.isoformat() if self.ended_from else None,
                  "to": self.ended_to.isoformat() if self.ended_to else None}
        params = {k: v for k, v in params.items() if v}
        if (page or self.page) > 1:
            params["page"] = str(page or self.page)
        return urlencode(params)


@dataclass(frozen=True)
class RawHistoryFilters:
    """The query string as typed: what the form shows again when a value is refused."""
    provider: str = ""
    gpu: str = ""
    state: str = ""
    date_from: str = ""
    date_to: str = ""
    page: str = ""


def parse_filters(raw: RawHistoryFilters) -> HistoryFilters:
    provider, gpu, state = raw.provider.strip() or None, raw.gpu.strip() or None, raw.state.strip() or None
    if provider is not None and provider not in SOURCES and provider not in SIMULATED:
        raise HistoryFilterError("provider", f"unknown provider {provider[:40]!r}")
    if gpu is not None and gpu not in GPUS:
        raise HistoryFilterError("gpu", f"unknown GPU {gpu[:40]!r}")
    if state is not None and state not in FINAL_STATES:
        raise HistoryFilterError("state", "choose deleted or failed")
    first, last = parse_day(raw.date_from, "from"), parse_day(raw.date_to, "to")
    if first and last and first > last:
        raise HistoryFilterError("from", "the start date is after the end date")
    return HistoryFilters(provider, gpu, state, first, last, parse_page(raw.page, MAX_PAGE))


@dataclass(frozen=True)
class HistoryRow:
    id: int
    name: str
    provider: str
    provider_name: str
    gpu: str
    region: str
    status: str
    last_error: str | None
    created_at: datetime
    ended_at: datetime
    price_per_hour: Decimal | None

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.status, self.status)

    @property
    def lifetime(self) -> timedelta:
        return max(timedelta(0), self.ended_at - self.created_at)


@dataclass(frozen=True)
class HistoryPage:
    rows: list[HistoryRow]
    total: int
    filters: HistoryFilters
    providers: list[tuple[str, str]]
    """(slug, display name) of the providers in the user's history: the filter's choices."""
    gpus: list[tuple[str, str]]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def _ended():
    """When a deployment ended: its terminated_at, else (older rows) its last update."""
    return func.coalesce(Instance.terminated_at, Instance.updated_at)


def _row(r: Instance) -> HistoryRow:
    return HistoryRow(
        id=r.id, name=r.name, provider=r.provider, provider_name=provider_display_name(r.provider),
        gpu=gpu_label(r), region=r.region, status=r.status, last_error=r.last_error, created_at=r.created_at,
        ended_at=r.terminated_at or r.updated_at,
        price_per_hour=r.provider_price_per_hour if r.provider_price_per_hour is not None else r.offer_price_per_hour,
    )


async def deployment_history(session: AsyncSession, owner: Owner, filters: HistoryFilters,
                             zone: ZoneInfo) -> HistoryPage:
    scope = await resolve(session, owner)
    mine = [scope.visible(Instance), Instance.status.in_(FINAL_STATES)]
    where = list(mine)
    if filters.provider:
        where.append(Instance.provider == filters.provider)
    if filters.gpu:
        where.append(Instance.gpu_slug == filters.gpu)
    if filters.state:
        where.append(Instance.status == filters.state)
    if filters.ended_from:
        where.append(_ended() >= local_midnight(zone, filters.ended_from))
    if filters.ended_to:
        where.append(_ended() < local_midnight(zone, filters.ended_to + timedelta(days=1)))
    total = (await session.execute(select(func.count()).select_from(Instance).where(*where))).scalar_one()
    rows = (await session.execute(
        select(Instance).where(*where).order_by(_ended().desc(), Instance.id.desc())
        .limit(PAGE_SIZE).offset((filters.page - 1) * PAGE_SIZE))).scalars()
    choices = (await session.execute(select(Instance.provider, Instance.gpu_slug).where(*mine).distinct())).all()
    providers = sorted({(p, provider_display_name(p)) for p, _ in choices}, key=lambda c: c[1].lower())
    gpus = sorted({(g, GPUS[g].name) for _, g in choices if g in GPUS}, key=lambda c: c[1].lower())
    return HistoryPage([_row(r) for r in rows], total, filters, providers, gpus)
