"""``/api/v1/migrations``: move a deployment to another offer (Pro), read it with its steps, roll it back.

The migration service (``app/migration/service.py``) does the work and the checks (another
workspace's id: 404; "operate"); the plan check is made first, so Basic gets a 403 naming the plan."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from msgspec import Meta, Struct
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.api.auth import api_access, provide_api_scope, provide_api_user, require_feature_for
from app.console.api.routes import ID
from app.db.models import User
from app.migration import service
from app.workspaces.scope import Scope

DbId = Annotated[int, Meta(ge=1, le=2**31 - 1)]
Path = Annotated[str, Meta(min_length=1, max_length=4096)]


class PathIn(Struct, forbid_unknown_fields=True):
    source: Path
    target: Path | None = None
    """Where the directory goes on the target (the same path by default)."""


class MigrationIn(Struct, forbid_unknown_fields=True):
    instance_id: DbId
    key_id: DbId | None = None
    """One of your provider keys, for the target's provider (omitted: your one key for the offer's provider)."""
    offer_id: DbId | None = None
    instance_type: Annotated[str, Meta(max_length=255)] = ""
    region: Annotated[str, Meta(max_length=128)] = ""
    spot: bool = False
    paths: Annotated[list[PathIn], Meta(max_length=32)] = []
    rollback_window_hours: Annotated[int, Meta(ge=0, le=720)] = 24
    bucket: Annotated[str, Meta(max_length=64)] = ""
    """The name of a bucket bound to the workspace that the paths are copied through (empty on the sandbox)."""


class RollbackIn(Struct, forbid_unknown_fields=True):
    reason: Annotated[str, Meta(max_length=500)] = ""


class MigrationsApiController(Controller):
    path = "/api/v1/migrations"
    dependencies = {"api_user": Provide(provide_api_user), "workspace": Provide(provide_api_scope)}
    guards = [api_access]  # the token, then the declared permission in the named workspace
    tags = ["migrations"]
    security = [{"apiToken": []}]

    @post("/", permission="operate", operation_id="createMigration", status_code=201,
          summary="Move a deployment to another offer, copying the named directories (Pro)")
    async def create(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                     workspace: NamedDependency[Scope], data: MigrationIn) -> dict[str, Any]:
        await require_feature_for(request, db, workspace, service.FEATURE)
        await db.commit()
        view = await service.create(
            request.app.state.sessions, request.app.state.settings, workspace, data.instance_id,
            service.Target(data.key_id, data.offer_id, data.instance_type, data.region, data.spot),
            [{"source": p.source, "target": p.target or p.source} for p in data.paths], bucket=data.bucket,
            rollback_window_seconds=data.rollback_window_hours * 3600)
        return view.to_json()

    @get("/{migration_id:int}", permission="view", operation_id="getMigration", summary="One migration with every step and its log")
    async def one(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                  workspace: NamedDependency[Scope], migration_id: int = ID) -> dict[str, Any]:
        await require_feature_for(request, db, workspace, service.FEATURE)
        return (await service.get(request.app.state.sessions, workspace, migration_id)).to_json()

    @post("/{migration_id:int}/rollback", permission="operate", operation_id="rollBackMigration", status_code=200,
          summary="Cancel a migration, or undo its cut-over while the old instance is kept")
    async def rollback(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                       workspace: NamedDependency[Scope], data: RollbackIn | None = None,
                       migration_id: int = ID) -> dict[str, Any]:
        await require_feature_for(request, db, workspace, service.FEATURE)
        await db.commit()
        reason = (data.reason.strip() if data else "") or "rolled back at the user's request"
        return (await service.roll_back(request.app.state.sessions, workspace, migration_id, reason)).to_json()
