"""``/settings/activity``: the audit log of the signed-in user's workspace (filters, pages, CSV)."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.workspaces.scope import Scope
from app.audit.views import KINDS, AuditFilters, audit_csv, audit_page, changes, parse_filters
from app.console.pages.common import CONSOLE_DEPENDENCIES, CONSOLE_GUARDS, page
from app.db.models import User
from app.services.inputs import InvalidField
from app.web.errors import plain_text_error
from app.web.form_state import build_with_form
from app.web.localtime import user_zone
from app.workspaces import projects


async def _project_names(db: AsyncSession, workspace: Scope) -> dict[int, str]:
    """The organization's projects by id (none in a personal workspace): the filter's choices and
    the names shown next to each change."""
    return {p.id: p.name for p in await projects.list_projects(db, workspace)}


class ActivityController(Controller):
    path = "/settings/activity"
    guards = CONSOLE_GUARDS
    dependencies = CONSOLE_DEPENDENCIES

    @get("/", name="activity", permission="view_audit")
    async def index(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                    workspace: NamedDependency[Scope]) -> Template:
        workspace.require("view_audit")
        zone = user_zone(user)
        names = await _project_names(db, workspace)

        async def build(params):
            return await audit_page(db, workspace.audit_key, parse_filters(params, frozenset(names)), zone)

        log, form = await build_with_form(build, request.query_params)
        return page("account/activity.html", form.status, user=user, log=log, fields=form, kinds=KINDS,
                    changes=changes, project_names=names)

    @get("/export.csv", permission="view_audit")
    async def export(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                     workspace: NamedDependency[Scope]) -> Response[str]:
        workspace.require("view_audit")
        try:
            filters = parse_filters(request.query_params, frozenset(await _project_names(db, workspace)))
        except InvalidField as exc:
            return plain_text_error(exc)
        text = await audit_csv(db, workspace.audit_key,
                               AuditFilters(filters.kind, filters.project, filters.day_from, filters.day_to),
                               user_zone(user))
        return Response(text, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="computehub-activity.csv"'})
