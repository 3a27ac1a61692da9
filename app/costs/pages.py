"""``/costs`` (cards, trend, breakdowns, the detailed history and its CSV) and the console's
overview at ``/console/overview``. Login required; everything is the logged-in user's own."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.params import Parameter
from litestar.response import Template
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.pages.common import CONSOLE_DEPENDENCIES, CONSOLE_GUARDS, page
from app.costs.display import cost
from app.costs.overview import overview
from app.costs.report import RawFilters, cost_export, cost_report
from app.db.models import User
from app.db.types import utcnow


class CostsController(Controller):
    path = "/costs"
    guards = CONSOLE_GUARDS
    dependencies = CONSOLE_DEPENDENCIES

    @get("/", name="costs")
    async def index(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[User],
        date_from: str | None = Parameter(query="from", default=None),
        date_to: str | None = Parameter(query="to", default=None),
        provider: str | None = None, gpu: str | None = None,
        page_number: int = Parameter(query="page", default=1),
    ) -> Template:
        report = await cost_report(db, user, RawFilters(date_from, date_to, provider, gpu, page_number), utcnow())
        return page("costs/index.html", user=user, report=report, cost=cost)

    @get("/export.csv")
    async def export(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[User],
        date_from: str | None = Parameter(query="from", default=None),
        date_to: str | None = Parameter(query="to", default=None),
        provider: str | None = None, gpu: str | None = None,
    ) -> Response[str]:
        filename, text = await cost_export(db, user, RawFilters(date_from, date_to, provider, gpu), utcnow())
        return Response(text, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


class OverviewController(Controller):
    path = "/console/overview"
    guards = CONSOLE_GUARDS
    dependencies = CONSOLE_DEPENDENCIES

    @get("/", name="overview")
    async def index(self, db: NamedDependency[AsyncSession], user: NamedDependency[User]) -> Template:
        return page("overview.html", user=user, view=await overview(db, user, utcnow()), cost=cost)
