"""``/costs`` (cards, trend, breakdowns, the detailed history and its CSV) and the console's
overview at ``/console/overview``. Login required; everything is the logged-in user's own."""

from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.datastructures import MultiDict
from litestar.response import Template
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from app.workspaces.scope import Scope
from app.console.pages.common import CONSOLE_DEPENDENCIES, CONSOLE_GUARDS, page
from app.costs.display import cost
from app.costs.overview import overview
from app.costs.report import CostReport, RawFilters, cost_export, cost_report
from app.db.models import User
from app.db.types import utcnow
from app.services.inputs import InvalidField
from app.web.errors import plain_text_error
from app.web.form_state import build_with_form


class CostsController(Controller):
    path = "/costs"
    guards = CONSOLE_GUARDS
    dependencies = CONSOLE_DEPENDENCIES

    @get("/", name="costs", permission="view_costs")
    async def index(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope]) -> Template:
        """Bad filters: this page again (400), the inputs as typed, the message at the field."""
        workspace.require("view_costs")
        now = utcnow()

        async def build(params: MultiDict) -> CostReport:
            return await cost_report(db, user, workspace, raw_filters(params), now)

        report, form = await build_with_form(build, request.query_params)
        return page("costs/index.html", form.status, user=user, report=report, cost=cost, fields=form)

    @get("/export.csv", permission="view_costs")
    async def export(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope]) -> Response[str]:
        """Never HTML, not even for bad dates: a download link gets 400 with a plain-text reason."""
        workspace.require("view_costs")
        try:
            filename, text = await cost_export(db, user, workspace, raw_filters(request.query_params), utcnow())
        except InvalidField as exc:
            return plain_text_error(exc)
        return Response(text, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def raw_filters(params: MultiDict) -> RawFilters:
    return RawFilters(params.get("from"), params.get("to"), params.get("provider"), params.get("gpu"),
                      params.get("page") or 1, params.get("project"), params.get("member"))


class OverviewController(Controller):
    path = "/console/overview"
    guards = CONSOLE_GUARDS
    dependencies = CONSOLE_DEPENDENCIES

    @get("/", name="overview", permission="view_costs")
    async def index(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope]) -> Template:
        return page("overview.html", user=user, view=await overview(db, user, workspace, utcnow()), cost=cost)
