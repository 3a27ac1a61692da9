"""``/api/v1/console/costs``: what ``/costs`` shows, as exact amounts: the range's total, this month,
this week, the hourly burn, and the range by provider, GPU, deployment, project and member
(``app.costs.breakdown``); filtered like the page, by project and by member too."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.api.auth import api_access, provide_api_scope, provide_api_user
from app.console.api.schemas import CostsOut
from app.costs.breakdown import cost_breakdown
from app.costs.report import RawFilters
from app.db.models import User
from app.workspaces.scope import Scope
from app.db.types import utcnow


class ConsoleCostsApiController(Controller):
    path = "/api/v1/console/costs"
    dependencies = {"api_user": Provide(provide_api_user), "workspace": Provide(provide_api_scope)}
    guards = [api_access]  # the token, then the declared permission in the named workspace
    tags = ["console"]
    security = [{"apiToken": []}]

    @get("/", permission="view_costs", operation_id="getCosts", summary="Your costs over a range of days, by provider, GPU, deployment, project and member")
    async def costs(
        self, db: NamedDependency[AsyncSession], api_user: NamedDependency[User], workspace: NamedDependency[Scope],
        date_from: str | None = Parameter(query="from", default=None, max_length=10,
                                          description="first local day, YYYY-MM-DD (default: 29 days before `to`)"),
        date_to: str | None = Parameter(query="to", default=None, max_length=10,
                                        description="last local day, YYYY-MM-DD (default: today)"),
        provider: str | None = Parameter(default=None, max_length=64, description="only this provider, e.g. sandbox"),
        gpu: str | None = Parameter(default=None, max_length=64, description="only this GPU slug, e.g. h100-sxm"),
        project: str | None = Parameter(default=None, max_length=10, description="only this project's (its id)"),
        member: str | None = Parameter(default=None, max_length=10,
                                       description="only what this member launched (their user id, as in by_member)"),
    ) -> CostsOut:
        workspace.require("view_costs")
        raw = RawFilters(date_from, date_to, provider, gpu, project=project, member=member)
        return CostsOut.of(await cost_breakdown(db, api_user, workspace, raw, utcnow()))
