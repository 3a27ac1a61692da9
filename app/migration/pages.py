"""The migration pages (Pro): the wizard from a deployment's page (choose a target, preview,
confirm), "Move my deployment here" from a price page, the live progress page with its JSON poll,
Cancel and Roll back, and the workspace's list of migrations.

Starting and rolling back go through ``app/migration/service.py``, the same calls the API makes."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import Parameter
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.entitlements import require_feature
from app.console.errors import ConsoleError
from app.console.instances import get_owned
from app.console.pages.common import CONSOLE_DEPENDENCIES, CONSOLE_GUARDS, Form, form_text, page
from app.db.models import Instance, User
from app.db.types import utcnow
from app.migration import machine as m
from app.migration import planning, service
from app.services.inputs import DB_ID_MAX
from app.workspaces.scope import Scope, resolve

FIELDS = ("offer", "key", "paths", "bucket", "window_hours")
MIGRATION_GUARDS = [require_feature(service.FEATURE)]


def _query(fields: dict[str, str]) -> str:
    return urlencode({k: v for k, v in fields.items() if k in FIELDS and v not in ("", None)})


def status_json(view: service.MigrationView) -> dict:
    body = view.to_json()
    body["timeline"] = planning.timeline(body)
    body["final"] = view.migration.state in m.FINAL
    body["can_cancel"] = view.can_roll_back and view.migration.state not in (m.CLEANING_UP,)
    body["can_undo"] = view.can_roll_back and view.migration.state == m.CLEANING_UP
    return body


async def _wizard(db: AsyncSession, workspace: Scope, instance_id: int, values: dict[str, str], *,
                  error: str | None = None, status: int = 200) -> Template:
    scope = await resolve(db, workspace)
    source = await get_owned(db, scope, instance_id)
    choices = await planning.candidates(db, scope, source)
    return page("migration/wizard.html", status, source=source, choices=choices,
                suggestions=planning.suggestions(choices), old_price=planning.source_price(source),
                buckets=await planning.bound_buckets(db, scope), values=values, error=error,
                copy_providers=planning.DATA_COPY_PROVIDERS, per_month=planning.per_month)


class MigrationPagesController(Controller):
    path = "/console"
    guards = CONSOLE_GUARDS
    dependencies = CONSOLE_DEPENDENCIES

    # ---- the wizard ------------------------------------------------------------------------------
    @get("/instances/{instance_id:int}/migrate", permission="operate", guards=MIGRATION_GUARDS)
    async def wizard(self, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                     workspace: NamedDependency[Scope], instance_id: int, offer: str = "", key: str = "",
                     paths: str = "", bucket: str = "", window_hours: str = "24") -> Template:
        return await _wizard(db, workspace, instance_id, {"offer": offer, "key": key, "paths": paths,
                                                          "bucket": bucket, "window_hours": window_hours})

    @get("/instances/{instance_id:int}/migrate/preview", permission="operate", guards=MIGRATION_GUARDS)
    async def preview(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                      workspace: NamedDependency[Scope], instance_id: int, offer: str = "", key: str = "",
                      paths: str = "", bucket: str = "", window_hours: str = "24") -> Template:
        values = {"offer": offer, "key": key, "paths": paths, "bucket": bucket, "window_hours": window_hours}
        scope = await resolve(db, workspace)
        source = await get_owned(db, scope, instance_id)
        try:
            choice = planning.parse_choice(values)
            shown = await planning.preview(db, scope, source, choice, request.app.state.settings.sandbox.data_dir)
        except ConsoleError as exc:
            return await _wizard(db, workspace, instance_id, values, error=str(exc), status=400)
        return page("migration/preview.html", p=shown, values=values, back=_query(values),
                    per_month=planning.per_month)

    @post("/instances/{instance_id:int}/migrate", permission="operate", guards=MIGRATION_GUARDS)
    async def start(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                    workspace: NamedDependency[Scope], instance_id: int, data: Form) -> Template | Redirect:
        values = {k: form_text(data, k) for k in FIELDS}
        scope = await resolve(db, workspace)
        source = await get_owned(db, scope, instance_id)
        try:
            choice = planning.parse_choice(values)
            shown = await planning.preview(db, scope, source, choice, request.app.state.settings.sandbox.data_dir)
            if shown.blocking:
                raise ConsoleError(shown.blocking[0])
            await db.commit()  # end the read: the service opens its own transaction
            view = await service.create(
                request.app.state.sessions, request.app.state.settings, workspace, instance_id,
                service.Target(shown.key.id, choice.offer_id), list(choice.roots), bucket=choice.bucket,
                rollback_window_seconds=choice.window_hours * 3600)
        except ConsoleError as exc:
            await db.rollback()
            return await _wizard(db, workspace, instance_id, values, error=str(exc), status=400)
        return Redirect(f"/console/migrations/{view.migration.id}")

    # ---- "Move my deployment here" ---------------------------------------------------------------
    @get("/migrate", permission="operate", guards=MIGRATION_GUARDS)
    async def move_here(self, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                        workspace: NamedDependency[Scope],
                        offer: int = Parameter(ge=1, le=DB_ID_MAX)) -> Template | Redirect:
        """From a price page: which deployment moves to this offer (the only one: straight to the wizard)."""
        scope = await resolve(db, workspace)
        rows = list((await db.execute(select(Instance).where(
            scope.visible(Instance), Instance.status.in_(planning.MIGRATABLE)).order_by(Instance.name))).scalars())
        fits = []
        for row in rows:
            if await planning.candidates(db, scope, row, offer_id=offer):
                fits.append(row)
        if len(fits) == 1:
            return Redirect(f"/console/instances/{fits[0].id}/migrate?{_query({'offer': str(offer)})}")
        return page("migration/move_here.html", offer_id=offer, fits=fits, others=[r for r in rows if r not in fits])

    # ---- progress ---------------------------------------------------------------------------------
    @get("/migrations", permission="view", guards=MIGRATION_GUARDS)
    async def index(self, request: Request, user: NamedDependency[User], workspace: NamedDependency[Scope]) -> Template:
        sessions = request.app.state.sessions
        rows = await service.list_migrations(sessions, workspace)
        async with sessions() as session:
            ids = {r.source_instance_id for r in rows} | {r.target_instance_id for r in rows if r.target_instance_id}
            names = dict((await session.execute(select(Instance.id, Instance.name).where(
                Instance.id.in_(ids or {0})))).all())
        return page("migration/list.html", migrations=rows, names=names, final=m.FINAL)

    @get("/migrations/{migration_id:int}", permission="view", guards=MIGRATION_GUARDS)
    async def progress(self, request: Request, user: NamedDependency[User], workspace: NamedDependency[Scope],
                       migration_id: int) -> Template:
        view = await service.get(request.app.state.sessions, workspace, migration_id)
        return await _progress(request, workspace, view)

    @get("/migrations/{migration_id:int}/status", permission="view", guards=MIGRATION_GUARDS)
    async def status(self, request: Request, user: NamedDependency[User], workspace: NamedDependency[Scope],
                     migration_id: int) -> dict:
        """The progress page's poll: the migration with its timeline, as JSON."""
        return status_json(await service.get(request.app.state.sessions, workspace, migration_id))

    @post("/migrations/{migration_id:int}/rollback", permission="operate", guards=MIGRATION_GUARDS)
    async def rollback(self, request: Request, user: NamedDependency[User], workspace: NamedDependency[Scope],
                       migration_id: int, data: Form) -> Template | Redirect:
        sessions = request.app.state.sessions
        cancel = form_text(data, "action") == "cancel"
        reason = "cancelled by the user" if cancel else "rolled back at the user's request"
        try:
            await service.roll_back(sessions, workspace, migration_id, reason)
        except ConsoleError as exc:
            view = await service.get(sessions, workspace, migration_id)
            return await _progress(request, workspace, view, error=str(exc), status=400)
        return Redirect(f"/console/migrations/{migration_id}")


async def _progress(request: Request, workspace: Scope, view: service.MigrationView, *, error: str | None = None,
                    status: int = 200) -> Template:
    row = view.migration
    async with request.app.state.sessions() as session:
        source = await session.get(Instance, row.source_instance_id) if row.source_instance_id else None
        target = await session.get(Instance, row.target_instance_id) if row.target_instance_id else None
        old_price = planning.source_price(source) if source else None
    body = status_json(view)
    return page("migration/progress.html", status, mig=row, body=body, source=source, target=target,
                old_price=old_price, now=utcnow(), error=error)
