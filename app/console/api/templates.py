"""``/api/v1/console/templates``: saved launches: list, get, create, change, delete, launch.

The console page's services (``templates_service``) and its plan check (templates are a Pro
feature), so scoping, naming rules and the audit log are the page's."""

from __future__ import annotations

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from app.console import templates_service
from app.console.api.auth import api_access, provide_api_scope, provide_api_user, require_feature_for
from app.console.api.routes import ID, fresh_deployment
from app.console.api.schemas import (
    DeploymentOut, TemplateFromDeploymentIn, TemplateIn, TemplateLaunchIn, TemplateOut, TemplateUpdate,
)
from app.console.instances import launch
from app.console.pages.common import keyring, provider_http
from app.db.models import User
from app.workspaces.scope import Scope

FEATURE = "templates"


class ConsoleTemplatesApiController(Controller):
    path = "/api/v1/console/templates"
    dependencies = {"api_user": Provide(provide_api_user), "workspace": Provide(provide_api_scope)}
    guards = [api_access]  # the token, then the declared permission in the named workspace
    tags = ["console"]
    security = [{"apiToken": []}]

    @get("/", permission="view", operation_id="listTemplates", summary="Your deployment templates")
    async def index(self, request: Request, db: NamedDependency[AsyncSession],
                    api_user: NamedDependency[User], workspace: NamedDependency[Scope]) -> list[TemplateOut]:
        await require_feature_for(request, db, workspace, FEATURE)
        return [TemplateOut.of(v) for v in await templates_service.list_templates(db, workspace)]

    @get("/{template_id:int}", permission="view", operation_id="getTemplate", summary="One template")
    async def one(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User], workspace: NamedDependency[Scope],
                  template_id: int = ID) -> TemplateOut:
        await require_feature_for(request, db, workspace, FEATURE)
        return TemplateOut.of(templates_service.to_view(await templates_service.get_owned(db, workspace, template_id)))

    @post("/", permission="manage_templates", operation_id="createTemplate", status_code=201,
          summary="Save a launch: a shape (type, region, market) the provider offers now")
    async def create(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User], workspace: NamedDependency[Scope],
                     data: TemplateIn) -> TemplateOut:
        await require_feature_for(request, db, workspace, FEATURE)
        row = await templates_service.create_template(db, workspace, data.form())
        view = templates_service.to_view(row)
        await db.commit()
        return TemplateOut.of(view)

    @post("/from-deployment/{instance_id:int}", permission="manage_templates", operation_id="saveTemplateFromDeployment", status_code=201,
          summary="Save a deployment's shape, region, image, disk and SSH key as a template")
    async def from_deployment(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                              workspace: NamedDependency[Scope], data: TemplateFromDeploymentIn,
                              instance_id: int = ID) -> TemplateOut:
        await require_feature_for(request, db, workspace, FEATURE)
        row = await templates_service.save_from_instance(db, workspace, instance_id, data.name)
        view = templates_service.to_view(row)
        await db.commit()
        return TemplateOut.of(view)

    @patch("/{template_id:int}", permission="manage_templates", operation_id="updateTemplate", summary="Rename a template or change its image, disk or SSH key")
    async def update(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User], workspace: NamedDependency[Scope],
                     data: TemplateUpdate, template_id: int = ID) -> TemplateOut:
        await require_feature_for(request, db, workspace, FEATURE)
        row = await templates_service.update_template(db, workspace, template_id, data.changes())
        view = templates_service.to_view(row)
        await db.commit()
        return TemplateOut.of(view)

    @delete("/{template_id:int}", permission="manage_templates", operation_id="deleteTemplate", summary="Delete a template (its deployments stay)")
    async def remove(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User], workspace: NamedDependency[Scope],
                     template_id: int = ID) -> None:
        await require_feature_for(request, db, workspace, FEATURE)
        await templates_service.delete_template(db, workspace, template_id)
        await db.commit()

    @post("/{template_id:int}/launch", permission="operate", operation_id="launchTemplate", status_code=201,
          summary="Launch a template on one of your keys for its provider")
    async def launch_template(self, request: Request, db: NamedDependency[AsyncSession],
                              api_user: NamedDependency[User], workspace: NamedDependency[Scope], data: TemplateLaunchIn,
                              template_id: int = ID) -> DeploymentOut:
        await require_feature_for(request, db, workspace, FEATURE)
        spec = await templates_service.launch_spec(db, workspace, template_id, data.key_id, data.name, data.project_id)
        await db.commit()  # nothing stays open while the provider is called
        async with provider_http(request) as http:
            row = await launch(request.app.state.sessions, keyring(request), http, workspace, spec)
        return await fresh_deployment(request, workspace, row.id)
