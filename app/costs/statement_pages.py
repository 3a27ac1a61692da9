"""``/costs/statements``: the recent months with their totals, and one month's statement as a page,
a CSV and a PDF. Login required; a statement covers only the signed-in user's own costs."""

from __future__ import annotations

import anyio
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.pages.common import CONSOLE_DEPENDENCIES, CONSOLE_GUARDS, page
from app.costs.display import cost
from app.costs.statement_files import statement_csv, statement_pdf
from app.costs.statements import Month, Statement, build_statement, parse_month, recent_months
from app.db.models import User
from app.db.types import utcnow
from app.services.inputs import InvalidField
from app.web.errors import plain_text_error
from app.web.formatting import HELPERS
from app.web.localtime import user_zone
from app.workspaces.scope import Scope
from dashboards.local_days import local_today


async def _statement(db: AsyncSession, user: User, workspace: Scope, month: str) -> Statement:
    workspace.require("view_costs")
    now = utcnow()
    return await build_statement(db, user, workspace, parse_month(month, local_today(user_zone(user), now)), now)


class StatementsController(Controller):
    path = "/costs/statements"
    guards = CONSOLE_GUARDS
    dependencies = CONSOLE_DEPENDENCIES

    @get("/", name="statements", permission="view_costs")
    async def index(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope],
                    month: str | None = None) -> Template | Redirect:
        """The month field (a GET form) goes to that month's statement; a bad one is this page, 400."""
        workspace.require("view_costs")
        now = utcnow()
        error = None
        if month is not None:
            try:
                return Redirect(f"/costs/statements/{parse_month(month, local_today(user_zone(user), now)).key}")
            except InvalidField as exc:
                error = exc
        months = await recent_months(db, user, workspace, now)
        return page("costs/statements.html", 400 if error else 200, user=user, months=months, cost=cost,
                    error=error, typed=month or "", current=Month.of(local_today(user_zone(user), now)))

    @get("/{month:str}", name="statement", permission="view_costs")
    async def statement(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope], month: str) -> Template:
        try:
            statement = await _statement(db, user, workspace, month)
        except InvalidField as exc:
            months = await recent_months(db, user, workspace, utcnow())
            return page("costs/statements.html", 400, user=user, months=months, cost=cost, error=exc,
                        typed=month, current=Month.of(local_today(user_zone(user), utcnow())))
        return page("costs/statement.html", user=user, statement=statement, cost=cost)

    @get("/{month:str}/statement.csv", permission="view_costs")
    async def csv(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope], month: str) -> Response:
        try:
            statement = await _statement(db, user, workspace, month)
        except InvalidField as exc:
            return plain_text_error(exc)
        return Response(statement_csv(statement), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{statement.filename("csv")}"'})

    @get("/{month:str}/statement.pdf", permission="view_costs")
    async def pdf(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope],
                  month: str) -> Response:
        try:
            statement = await _statement(db, user, workspace, month)
        except InvalidField as exc:
            return plain_text_error(exc)
        html = request.app.template_engine.get_template("costs/statement_document.html").render(
            **HELPERS, statement=statement, cost=cost)
        # Rendering is CPU work: a worker thread keeps the event loop serving other requests.
        document = await anyio.to_thread.run_sync(statement_pdf, html)
        return Response(document, media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{statement.filename("pdf")}"'})
