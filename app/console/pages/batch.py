"""``/console/batch``: start, stop or delete several deployments: a plan to confirm, then results."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Template
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from app.workspaces.scope import Scope
from app.billing.entitlements import require_feature
from app.console import batch
from app.console.pages.common import (
    CONSOLE_DEPENDENCIES, CONSOLE_GUARDS, Form, form_list, form_text, keyring, page, provider_http,
)
from app.console.errors import InvalidSelection
from app.console.pages.deployments import console_index
from app.db.models import User


class BatchController(Controller):
    path = "/console/batch"
    guards = [*CONSOLE_GUARDS, require_feature("batch")]
    dependencies = CONSOLE_DEPENDENCIES

    @get("/", permission="operate")
    async def confirm(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope], op: str = "",
                      ids: list[str] | None = Parameter(query="id", default=None)) -> Template:
        """The confirmation: exactly what will happen to each selected deployment."""
        try:
            items = await batch.plan(db, workspace, op, batch.parse_ids(ids or []))
        except InvalidSelection as exc:
            return await console_index(db, workspace, batch_error=str(exc), selected=ids or [], status=400)
        return page("console/batch_confirm.html", operation=op, items=items,
                    runs=sum(1 for item in items if item.runs))

    @post("/", permission="operate")
    async def run(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope],
                  data: Form) -> Template:
        operation, selected = form_text(data, "op"), form_list(data, "id")
        try:
            ids = batch.parse_ids(selected)
            async with provider_http(request) as http:
                results = await batch.execute(request.app.state.sessions, keyring(request), http, workspace, operation, ids)
        except InvalidSelection as exc:
            return await console_index(db, workspace, batch_error=str(exc), selected=selected, status=400)
        return page("console/batch_result.html", operation=operation, results=results,
                    failed=[r for r in results if not r.ok])
