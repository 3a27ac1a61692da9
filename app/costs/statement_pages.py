"""``/costs/statements``: the recent months with their totals, and one month's statement as a page,
a CSV and a PDF, of the workspace (as the reader may see it) or, with ``?project=<id>``, of one of
its projects (another workspace's project, or one a limited member is not in: 404)."""

from __future__ import annotations

import anyio
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import Parameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.pages.common import CONSOLE_DEPENDENCIES, CONSOLE_GUARDS, page
from app.costs.display import cost
from app.costs.statement_files import statement_csv, statement_pdf
from app.costs.statements import Month, Statement, build_statement, parse_month, recent_months, statement_project
from app.db.models import User
from app.db.types import utcnow
from app.services.inputs import InvalidField
from app.web.errors import plain_text_error
from app.web.formatting import HELPERS
from app.web.localtime import user_zone
from app.workspaces import projects
from app.workspaces.scope import Scope
from dashboards.local_days import local_today


PROJECT = Parameter(default=None, max_length=10, description="only this project's statement (its id)")


async def _statement(db: AsyncSession, user: User, workspace: Scope, month: str, project: str | None) -> Statement:
    workspace.require("view_costs")
    now = utcnow()
    chosen = await statement_project(db, workspace, projects.parse_project_id(project))
    return await build_statement(db, user, workspace, parse_month(month, local_today(user_zone(user), now)), now,
                                 chosen)


async def _list_page(db: AsyncSession, user: User, workspace: Scope, *, project: str | None = None,
                     error: InvalidField | None = None, typed: str = "") -> Template:
    """The recent months (a project's, if one is chosen) and the form that opens a month; a bad
    project id is this page with the message (400), another workspace's project a 404."""
    now = utcnow()
    chosen = None
    try:
        chosen = await statement_project(db, workspace, projects.parse_project_id(project))
    except InvalidField as exc:
        error = error or exc
    months = await recent_months(db, user, workspace, now, chosen)
    return page("costs/statements.html", 400 if error else 200, user=user, months=months, cost=cost, error=error,
                typed=typed, current=Month.of(local_today(user_zone(user), now)), project=chosen,
                projects=await projects.list_projects(db, workspace))


class StatementsController(Controller):
    path = "/costs/statements"
    guards = CONSOLE_GUARDS
    dependencies = CONSOLE_DEPENDENCIES

    @get("/", name="statements", permission="view_costs")
    async def index(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope],
                    month: str | None = None, project: str | None = PROJECT) -> Template | Redirect:
        """The month field (a GET form) goes to that month's statement (the chosen project's, if
        any); a bad one is this page, 400."""
        workspace.require("view_costs")
        if month is not None:
            try:
                key = parse_month(month, local_today(user_zone(user), utcnow())).key
                chosen = await statement_project(db, workspace, projects.parse_project_id(project))
                return Redirect(f"/costs/statements/{key}" + (f"?project={chosen.id}" if chosen else ""))
            except InvalidField as exc:
                return await _list_page(db, user, workspace, project=project, error=exc, typed=month)
        return await _list_page(db, user, workspace, project=project)

    @get("/{month:str}", name="statement", permission="view_costs")
    async def statement(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope],
                        month: str, project: str | None = PROJECT) -> Template:
        try:
            statement = await _statement(db, user, workspace, month, project)
        except InvalidField as exc:
            return await _list_page(db, user, workspace, project=project, error=exc, typed=month)
        return page("costs/statement.html", user=user, statement=statement, cost=cost)

    @get("/{month:str}/statement.csv", permission="view_costs")
    async def csv(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope],
                  month: str, project: str | None = PROJECT) -> Response:
        try:
            statement = await _statement(db, user, workspace, month, project)
        except InvalidField as exc:
            return plain_text_error(exc)
        return Response(statement_csv(statement), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{statement.filename("csv")}"'})

    @get("/{month:str}/statement.pdf", permission="view_costs")
    async def pdf(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope],
                  month: str, project: str | None = PROJECT) -> Response:
        try:
            statement = await _statement(db, user, workspace, month, project)
        except InvalidField as exc:
            return plain_text_error(exc)
        html = request.app.template_engine.get_template("costs/statement_document.html").render(
            **HELPERS, statement=statement, cost=cost)
        # Rendering is CPU work: a worker thread keeps the event loop serving other requests.
        document = await anyio.to_thread.run_sync(statement_pdf, html)
        return Response(document, media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{statement.filename("pdf")}"'})
