"""``/api/v1/console/batch``: one operation over several deployments, a result per id (``app.console.batch``:
the page's plan and execution, so one failure is reported beside the others' successes)."""

from __future__ import annotations

from litestar import Controller, Request, post
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from app.console import batch
from app.console.api.auth import api_access, provide_api_scope, provide_api_user, require_feature_for
from app.console.api.schemas import BatchIn, BatchOut
from app.console.pages.common import keyring, provider_http
from app.db.models import User
from app.workspaces.scope import Scope


class ConsoleBatchApiController(Controller):
    path = "/api/v1/console/batch"
    dependencies = {"api_user": Provide(provide_api_user), "workspace": Provide(provide_api_scope)}
    guards = [api_access]  # the token, then the declared permission in the named workspace
    tags = ["console"]
    security = [{"apiToken": []}]

    @post("/", permission="operate", operation_id="batchAction", status_code=200,
          summary="start, stop, reboot or delete several deployments; every id must be yours (else 404)")
    async def run(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User], workspace: NamedDependency[Scope],
                  data: BatchIn) -> BatchOut:
        await require_feature_for(request, db, workspace, "batch")
        ids = batch.parse_ids([str(i) for i in data.ids])  # the page's rules: no repeats, at most MAX_BATCH
        await batch.plan(db, workspace, data.operation, ids)  # 404 for a foreign id before anything runs
        await db.commit()
        async with provider_http(request) as http:
            results = await batch.execute(request.app.state.sessions, keyring(request), http, workspace,
                                          data.operation, ids)
        return BatchOut.of(data.operation, results)
