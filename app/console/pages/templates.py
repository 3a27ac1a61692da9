"""``/console/templates``: saved launches: list, create, save from a deployment, launch, delete."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template
from litestar.di import NamedDependency
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.workspaces.scope import Owner, Scope
from app.billing.entitlements import require_feature
from app.console import templates_service
from app.console.overview import provider_display_name
from app.console.pages.deployments import detail_page
from app.console.bindings import list_bindings
from app.console.errors import ConsoleError
from app.console.instances import launch
from app.console.launch_form import can_launch
from app.console.pages.common import CONSOLE_DEPENDENCIES, CONSOLE_GUARDS, Form, form_text, keyring, page, provider_http
from app.db.models import Offer, User
from app.services.inputs import parse_row_id
from app.workspaces import projects
from app.workspaces.scope import resolve
from providers.registry import provider_names

FORM_FIELDS = ("name", "provider", "instance_type", "region", "image", "disk_gb", "ssh_public_key", "spot", "project_id")
DONE = {"created": "Template saved.", "deleted": "Template deleted."}


async def _list_page(db: NamedDependency[AsyncSession], owner: Owner, *, values: dict[str, str] | None = None, error: str | None = None,
                     notice: str | None = None, status: int = 200) -> Template:
    providers = [name for name in provider_names() if can_launch(name)]
    shapes = await db.execute(select(Offer.source, Offer.instance_type, Offer.region).where(Offer.source.in_(providers))
                              .distinct().order_by(Offer.source, Offer.instance_type, Offer.region))
    shapes = shapes.all()
    return page(
        "console/templates.html", status, templates=await templates_service.list_templates(db, owner),
        bindings=[b for b in await list_bindings(db, owner) if b.status != "disabled"],
        providers=[(name, provider_display_name(name)) for name in providers],
        instance_types=sorted({s[1] for s in shapes}), regions=sorted({s[2] for s in shapes}),
        values=values or {}, error=error, notice=notice,
        projects=await projects.list_projects(db, await resolve(db, owner)),
    )


class TemplatesController(Controller):
    path = "/console/templates"
    guards = [*CONSOLE_GUARDS, require_feature("templates")]
    dependencies = CONSOLE_DEPENDENCIES

    @get("/", permission="view")
    async def index(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope], done: str | None = None) -> Template:
        return await _list_page(db, workspace, notice=DONE.get(done or ""))

    @post("/", permission="manage_templates")
    async def create(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope], data: Form) -> Template | Redirect:
        values = {key: form_text(data, key) for key in FORM_FIELDS}
        try:
            await templates_service.create_template(db, workspace, values)
            await db.commit()
        except (ConsoleError, projects.ProjectError) as exc:
            await db.rollback()
            return await _list_page(db, workspace, values=values, error=str(exc), status=400)
        return Redirect("/console/templates?done=created")

    @post("/from-instance/{instance_id:int}", permission="manage_templates")
    async def save_from_instance(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope], instance_id: int,
                                 data: Form) -> Template | Redirect:
        try:
            await templates_service.save_from_instance(db, workspace, instance_id, form_text(data, "name"))
            await db.commit()
        except ConsoleError as exc:
            await db.rollback()
            return await detail_page(db, workspace, instance_id, error=str(exc), status=400)
        return Redirect(f"/console/instances/{instance_id}?done=template")

    @post("/{template_id:int}/launch", permission="operate")
    async def launch_template(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope], template_id: int,
                     data: Form) -> Template | Redirect:
        await templates_service.get_owned(db, workspace, template_id)  # 404 first for another user's template
        binding_id = parse_row_id(form_text(data, "binding_id"), "binding_id")
        if binding_id is None:
            return await _list_page(db, workspace, error="choose which of your keys launches it", status=400)
        try:
            spec = await templates_service.launch_spec(db, workspace, template_id, binding_id, form_text(data, "name"),
                                                       projects.parse_project_id(form_text(data, "project_id")))
            await db.commit()  # end the read: nothing stays open while the provider is called
            async with provider_http(request) as http:
                row = await launch(request.app.state.sessions, keyring(request), http, workspace, spec)
        except (ConsoleError, projects.ProjectError) as exc:
            return await _list_page(db, workspace, error=str(exc), status=400)
        return Redirect(f"/console/instances/{row.id}?done=launched")

    @post("/{template_id:int}/delete", permission="manage_templates")
    async def delete(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace: NamedDependency[Scope], template_id: int) -> Redirect:
        await templates_service.delete_template(db, workspace, template_id)
        await db.commit()
        return Redirect("/console/templates?done=deleted")
