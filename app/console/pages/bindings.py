"""``/settings/providers``: the user's provider keys. List (masked), add, verify, rename, remove.

A key travels one way: from the add form into the encrypted column. No page, redirect or error
message ever carries it back; on an error the key field comes back empty.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from app.workspaces.roles import ROLE_LABELS
from app.workspaces.scope import Owner, Scope
from app.accounts.demo import is_shared_demo
from app.console.bindings import (
    add_checked_binding,
    get_owned,
    instances_left_unmanaged,
    list_bindings,
    remove_binding,
    rename_binding,
    set_binding_project,
    to_view,
    verify_binding,
)
from app.console.errors import ConsoleError
from app.console.pages.common import CONSOLE_DEPENDENCIES, CONSOLE_GUARDS, Form, form_text, keyring, page, provider_http
from app.db.models import User
from app.settings import Settings
from app.workspaces import projects
from providers.base import Provider
from providers.registry import SIMULATED, enabled_source_names, get_source_class

log = logging.getLogger(__name__)
PROJECT_FIELD = "workspace_project"
"""The key forms' ComputeHub project: not ``project_id``, which is a credential of some providers (Cudo)."""

DONE_MESSAGES = {
    "added": "Key added and checked with the provider: its status is below.",
    "verified": "Key checked with the provider: its status is below.",
    "renamed": "Renamed.",
    "removed": "Key removed. Its instances stay listed in the console, without a key.",
    "project": "Key moved to the project.",
}


@dataclass(frozen=True)
class ProviderChoice:
    name: str
    display_name: str
    homepage: str
    fields: tuple[tuple[str, str], ...]
    """(form field, label) per credential the provider needs."""


_WORDS = {"api": "API", "id": "ID"}


def field_label(field: str) -> str:
    """``api_key`` -> "API key", ``client_id`` -> "Client ID"."""
    text = " ".join(_WORDS.get(word, word) for word in field.lower().split("_"))
    return text[:1].upper() + text[1:]


def provider_choices(settings: Settings, user: NamedDependency[User]) -> list[ProviderChoice]:
    """Providers this user can bind a key for. An adapter that does not import (still being
    written) is left out with a warning instead of taking the page down."""
    names = enabled_source_names(settings.sandbox.enabled)
    if is_shared_demo(user, settings):
        # Everyone shares the demo account: a real key bound there would be everyone's to use.
        names = [n for n in names if n in SIMULATED]
    choices = []
    for name in names:
        try:
            cls = get_source_class(name)
        except ImportError as exc:
            log.warning("provider %s is unavailable: %s", name, exc)
            continue
        if issubclass(cls, Provider):
            choices.append(ProviderChoice(name, cls.DISPLAY_NAME, cls.HOMEPAGE,
                                          tuple((f, field_label(f)) for f in cls.CREDENTIAL_FIELDS)))
    return sorted(choices, key=lambda c: c.display_name.lower())


def _choice(request: Request, user: NamedDependency[User], name: str | None) -> ProviderChoice | None:
    return next((c for c in provider_choices(request.app.state.settings, user) if c.name == name), None)


async def list_page(request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope], *, notice: str | None = None,
                    error: str | None = None, status: int = 200) -> Template:
    return page("console/bindings.html", status, bindings=await list_bindings(db, workspace, keyring(request)),
                choices=provider_choices(request.app.state.settings, user), notice=notice, error=error,
                projects=await projects.list_projects(db, workspace), can_move=workspace.allows("manage_keys"),
                can_manage_keys=workspace.allows("manage_keys"), role_label=ROLE_LABELS.get(workspace.role, workspace.role),
                project_required=workspace.is_limited, PROJECT_FIELD=PROJECT_FIELD)


async def new_page(request: Request, db: AsyncSession, user: User, workspace: Scope, chosen: ProviderChoice | None, *,
                   label: str = "", project_id: str = "", error: str | None = None, status: int = 200) -> Template:
    return page("console/bindings_new.html", status, choices=provider_choices(request.app.state.settings, user),
                chosen=chosen, label=label, error=error, projects=await projects.list_projects(db, workspace),
                project_id=project_id, project_required=workspace.is_limited, PROJECT_FIELD=PROJECT_FIELD)


class ProviderKeysController(Controller):
    path = "/settings/providers"
    guards = CONSOLE_GUARDS
    dependencies = CONSOLE_DEPENDENCIES

    @get("/", name="provider-keys", permission="view")
    async def index(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope], done: str | None = None) -> Template:
        return await list_page(request, db, user, workspace, notice=DONE_MESSAGES.get(done or ""))

    @get("/new", permission="manage_keys")
    async def new(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope],
                  provider: str | None = None) -> Template:
        chosen = _choice(request, user, provider)
        if provider and chosen is None:
            return await new_page(request, db, user, workspace, None, error="choose a provider from the list", status=400)
        return await new_page(request, db, user, workspace, chosen)

    @post("/", permission="manage_keys")
    async def add(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope], data: Form) -> Template | Redirect:
        chosen = _choice(request, user, form_text(data, "provider"))
        label = form_text(data, "label")
        project = form_text(data, PROJECT_FIELD)
        if chosen is None:
            return await new_page(request, db, user, workspace, None, label=label, error="choose a provider from the list",
                                  status=400)
        credentials = {field: form_text(data, field) for field, _ in chosen.fields}
        await db.commit()  # ends the request's read: no transaction stays open across the provider call
        try:
            async with provider_http(request) as http:
                row = await add_checked_binding(request.app.state.sessions, keyring(request), http, workspace, chosen.name,
                                        label, credentials, projects.parse_project_id(project))
        except (ConsoleError, projects.ProjectError) as exc:  # KeyNotSaved included: checked first, not stored
            return await new_page(request, db, user, workspace, chosen, label=label, project_id=project, error=str(exc),
                                  status=400)
        return Redirect(f"/settings/providers?done=added#binding-{row.id}")

    @post("/{binding_id:int}/verify", permission="view")
    async def verify(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope], binding_id: int) -> Template | Redirect:
        await get_owned(db, workspace, binding_id)  # another user's id: 404 before any provider call
        await db.commit()  # ends the read: no transaction stays open across the provider call
        try:
            await _check(request, workspace, binding_id)
        except ConsoleError as exc:
            return await list_page(request, db, user, workspace, error=str(exc), status=400)
        return Redirect(f"/settings/providers?done=verified#binding-{binding_id}")

    @post("/{binding_id:int}/rename", permission="manage_keys")
    async def rename(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope], binding_id: int,
                     data: Form) -> Template | Redirect:
        try:
            await rename_binding(db, workspace, binding_id, form_text(data, "label"))
            await db.commit()
        except ConsoleError as exc:
            await _undo(db, user)
            return await list_page(request, db, user, workspace, error=f"Not renamed: {exc}", status=400)
        return Redirect(f"/settings/providers?done=renamed#binding-{binding_id}")

    @post("/{binding_id:int}/project", permission="manage_keys")
    async def move(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope],
                   binding_id: int, data: Form) -> Template | Redirect:
        try:
            await set_binding_project(db, workspace, binding_id, projects.parse_project_id(form_text(data, PROJECT_FIELD)))
            await db.commit()
        except projects.ProjectError as exc:
            await _undo(db, user)
            return await list_page(request, db, user, workspace, error=f"Not moved: {exc}", status=400)
        return Redirect(f"/settings/providers?done=project#binding-{binding_id}")

    @get("/{binding_id:int}/remove", permission="manage_keys")
    async def confirm_remove(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope], binding_id: int) -> Template:
        instances = await instances_left_unmanaged(db, workspace, binding_id)
        binding = to_view(await get_owned(db, workspace, binding_id))
        return page("console/bindings_remove.html", binding=binding, instances=instances)

    @post("/{binding_id:int}/remove", permission="manage_keys")
    async def remove(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope], binding_id: int, data: Form) -> Redirect:
        if form_text(data, "confirm") != "yes":
            await get_owned(db, workspace, binding_id)
            return Redirect(f"/settings/providers/{binding_id}/remove")
        await remove_binding(db, workspace, binding_id)
        await db.commit()
        return Redirect("/settings/providers?done=removed")


async def _undo(db: NamedDependency[AsyncSession], user: NamedDependency[User]) -> None:
    """Roll back, and reload the user the rollback expired (the error page still needs it)."""
    await db.rollback()
    await db.refresh(user)


async def _check(request: Request, owner: Owner, binding_id: int) -> None:
    async with provider_http(request) as http:
        await verify_binding(request.app.state.sessions, keyring(request), http, owner, binding_id)
