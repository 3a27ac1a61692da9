"""``/console/history``: deleted and failed deployments, filterable; only the user's own."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import Parameter
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.workspaces.scope import Scope
from app.console.history import HistoryFilters, RawHistoryFilters, deployment_history, parse_filters
from app.console.pages.common import CONSOLE_DEPENDENCIES, CONSOLE_GUARDS, page
from app.db.models import User
from app.services.inputs import InvalidField
from app.web.localtime import user_zone


class HistoryController(Controller):
    path = "/console/history"
    guards = CONSOLE_GUARDS
    dependencies = CONSOLE_DEPENDENCIES

    @get("/", name="console_history", permission="view")
    async def index(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope],
        provider: str = "", gpu: str = "",
        state_name: str = Parameter(query="state", default=""),  # `state` is litestar's app state
        date_from: str = Parameter(query="from", default=""),
        date_to: str = Parameter(query="to", default=""),
        page_number: str = Parameter(query="page", default=""),
    ) -> Template:
        raw = RawHistoryFilters(provider, gpu, state_name, date_from, date_to, page_number)
        try:
            filters, error = parse_filters(raw), None
        except InvalidField as exc:  # a filter we cannot honour: the form again, 400, inputs kept
            filters, error = HistoryFilters(), exc
        history = await deployment_history(db, workspace, filters, user_zone(user))
        return page("console/history.html", 400 if error else 200, user=user, history=history, raw=raw,
                    error=error, rows=[] if error else history.rows)
