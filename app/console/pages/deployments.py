"""``/console``: every deployment across the user's keys, one deployment's page with its
history, the actions (stop and delete are confirmed first), "Sync now" and the page's poll."""

from __future__ import annotations

import re
from collections.abc import Sequence

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from app.workspaces.scope import Owner, Scope
from app.console import overview
from app.console.errors import ConsoleError
from app.console.instances import OPERATIONS, get_owned, perform, set_project
from app.console.pages.common import CONSOLE_DEPENDENCIES, CONSOLE_GUARDS, Form, form_text, keyring, page, provider_http
from app.db.models import User
from app.db.types import utcnow
from app.repair.views import RepairForm, repair_panel
from app.sla import figures as sla
from app.workspaces import projects
from app.workspaces.scope import resolve

CONFIRMED_OPERATIONS = ("stop", "delete")
"""Destructive: they go through a confirmation step."""
DONE_MESSAGES = {
    "start": "Start requested: the provider is booting it.",
    "stop": "Stop requested: the provider is stopping it.",
    "reboot": "Reboot requested.",
    "delete": "Delete requested: the provider is deleting it.",
    "launched": "Launch requested: the provider is starting it. This page updates by itself.",
    "template": "Saved as a template.",
    "auto_repair": "Auto-repair settings saved.",
    "project": "Project changed: its costs from now on count for the new project.",
}


def _check_operation(operation: str) -> None:
    if operation not in OPERATIONS:
        raise ConsoleError(f"unknown action {operation!r}")


def _back_to(path: str) -> str:
    """Where "Sync now" returns: the console page it was pressed on, never another site."""
    if re.fullmatch(r"/console(/instances/\d+)?", path or ""):
        return path
    return "/console"


def sync_notice(synced: int | None, failed: int | None) -> str | None:
    if synced is None:
        return None
    text = f"Asked {synced} provider key{'' if synced == 1 else 's'} for the latest state."
    if failed:
        text += f" {failed} could not be reached; their deployments show the last known state."
    return text


class DeploymentsController(Controller):
    path = "/console"
    guards = CONSOLE_GUARDS
    dependencies = CONSOLE_DEPENDENCIES

    @get("/", name="console", permission="view")
    async def index(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope], synced: int | None = None,
                    sync_failed: int | None = None, done: str | None = None, project: str | None = None) -> Template:
        return await console_index(db, workspace, notice=sync_notice(synced, sync_failed) or DONE_MESSAGES.get(done or ""),
                                   project_id=projects.parse_project_id(project))

    @post("/instances/{instance_id:int}/project", permission="operate")
    async def move(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope],
                   instance_id: int, data: Form) -> Template | Redirect:
        try:
            await set_project(db, workspace, instance_id, projects.parse_project_id(form_text(data, "project_id")))
        except projects.ProjectError as exc:
            await db.rollback()
            return await detail_page(db, workspace, instance_id, error=str(exc), status=400)
        await db.commit()
        return Redirect(f"/console/instances/{instance_id}?done=project")

    @post("/sync", permission="view")
    async def sync_now(self, request: Request, user: NamedDependency[User], workspace: NamedDependency[Scope], data: Form) -> Redirect:
        async with provider_http(request) as http:
            reports = await overview.sync_user(request.app.state.sessions, keyring(request), http, workspace)
        failed = sum(1 for r in reports if r.error)
        return Redirect(f"{_back_to(form_text(data, 'next'))}?synced={len(reports)}&sync_failed={failed}")

    @post("/poll", permission="view", status_code=200)
    async def poll(self, request: Request, user: NamedDependency[User], workspace: NamedDependency[Scope]) -> dict[str, object]:
        """The page's poll: sync what it waits for, then say whether the page is out of date."""
        sessions = request.app.state.sessions
        async with provider_http(request) as http:
            await overview.sync_user(sessions, keyring(request), http, workspace, only_due=True)
        async with sessions() as session:
            deployments = await overview.list_deployments(session, workspace)
        return {"fingerprint": overview.fingerprint(deployments),
                "polling": any(d.transitional for d in deployments)}

    @get("/instances/{instance_id:int}", permission="view")
    async def detail(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope], instance_id: int, done: str | None = None,
                     synced: int | None = None, sync_failed: int | None = None) -> Template:
        return await detail_page(db, workspace, instance_id,
                                 notice=sync_notice(synced, sync_failed) or DONE_MESSAGES.get(done or ""))

    @get("/instances/{instance_id:int}/confirm/{operation:str}", permission="operate")
    async def confirm(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope], instance_id: int, operation: str) -> Template:
        deployment, _ = await overview.deployment_detail(db, workspace, instance_id)
        _check_operation(operation)
        return page("console/confirm.html", deployment=deployment, operation=operation, now=utcnow(),
                    reason=deployment.operations[operation])

    @post("/instances/{instance_id:int}/actions/{operation:str}", permission="operate")
    async def act(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope], instance_id: int, operation: str,
                  data: Form) -> Template | Redirect:
        await get_owned(db, workspace, instance_id)  # 404 before anything else for another user's id
        await db.commit()  # end the read: no transaction stays open across the provider call
        _check_operation(operation)
        if operation in CONFIRMED_OPERATIONS and form_text(data, "confirm") != "yes":
            return Redirect(f"/console/instances/{instance_id}/confirm/{operation}")
        try:
            async with provider_http(request) as http:
                await perform(request.app.state.sessions, keyring(request), http, workspace, instance_id, operation)
        except ConsoleError as exc:
            return await detail_page(db, workspace, instance_id, error=str(exc), status=400)
        return Redirect(f"/console/instances/{instance_id}?done={operation}")


async def console_index(db: AsyncSession, owner: Owner, *, notice: str | None = None, batch_error: str | None = None,
                        selected: Sequence[str] = (), status: int = 200, project_id: int | None = None) -> Template:
    """The deployments list (one project's with ``project_id``); a refused batch comes back here
    with its message at the batch bar and the boxes that were ticked still ticked."""
    deployments = await overview.list_deployments(db, owner, project_id=project_id)
    scope = await resolve(db, owner)
    return page("console/index.html", status, deployments=deployments, now=utcnow(),
                projects=await projects.list_projects(db, scope), project_id=project_id,
                counts=overview.state_counts(deployments),
                fingerprint=overview.fingerprint(deployments),
                polling=any(d.transitional for d in deployments),
                notice=notice, batch_error=batch_error, selected=set(selected))


async def detail_page(db: NamedDependency[AsyncSession], owner: Owner, instance_id: int, *, notice: str | None = None,
                       error: str | None = None, status: int = 200, repair_form: RepairForm | None = None) -> Template:
    deployment, events = await overview.deployment_detail(db, owner, instance_id)
    scope = await resolve(db, owner)
    return page("console/instance.html", status, deployment=deployment, events=events, now=utcnow(),
                projects=await projects.list_projects(db, scope), can_move=scope.allows("operate"),
                project_required=scope.is_limited,
                fingerprint=overview.fingerprint([deployment]), polling=deployment.transitional,
                notice=notice, error=error, repair=await repair_panel(db, owner, instance_id, repair_form),
                uptime=await sla.instance_figures(db, instance_id), uptime_rules=sla.RULES)
