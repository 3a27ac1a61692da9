"""GET /api/v1/history: raw price change events (appeared, changed, disappeared) of a GPU."""

from __future__ import annotations

from datetime import date

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.api import convert
from app.api.pagination import page_count, page_links
from app.api.schemas import ChangePage
from app.billing.history_access import history_start
from app.services.history import day_bounds, offer_history_page
from app.services.inputs import check_day
from app.services.prices import MAX_PER_PAGE, InvalidQuery
from providers.gpus import gpus_in


class HistoryController(Controller):
    path = "/api/v1/history"
    opt = {"permission": "public"}  # the price data: anyone, no login
    tags = ["history"]

    @get(
        "/",
        operation_id="listPriceChanges",
        summary="Price change events of a GPU family or variant, oldest first",
        description="History is change-only: one event when an offer appears, changes price or "
        "availability, or disappears.",
    )
    async def list_changes(
        self,
        request: Request,
        db: NamedDependency[AsyncSession],
        gpu: str = Parameter(description="GPU family (h100) or variant slug (h100-sxm)."),
        since: date | None = Parameter(default=None, description="Only events from this day on (ISO date, UTC). "
                                       "Before the last 30 days needs a logged-in Pro session; default: the last "
                                       "30 days, or everything with Pro."),
        page: int = Parameter(default=1, ge=1, le=100_000),
        per_page: int = Parameter(default=100, ge=1, le=MAX_PER_PAGE),
    ) -> ChangePage:
        gpus = gpus_in(gpu)
        if not gpus:
            raise InvalidQuery(f"gpu: unknown GPU {gpu!r}")
        if since is not None:
            check_day(since, "since")  # 9999-12-31 has no next day to end on
        since = await history_start(request, since)  # before the last 30 days: a Pro feature
        start = day_bounds(since)[0] if since else None
        rows, total = await offer_history_page(db, [g.slug for g in gpus], start, page, per_page)
        pages = page_count(total, per_page)
        return ChangePage(
            items=[convert.change_event(row) for row in rows], page=page, per_page=per_page, total=total,
            pages=pages, links=page_links(request, page, pages),
        )
