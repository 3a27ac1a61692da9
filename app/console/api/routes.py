"""``/api/v1/console``: list, launch, start, stop, reboot and delete deployments; list, add, verify and
remove keys.

The same services as the console pages, so plans, quotas, ownership (another user's id is a 404)
and the audit log apply exactly as they do there.
"""

from __future__ import annotations

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.workspaces.scope import Scope
from app.console import launch_form, overview
from app.console.api.auth import api_access, provide_api_scope, provide_api_user
from app.console.api.schemas import (
    DeploymentOut, DeploymentUpdate, KeyIn, KeyOut, KeyRemovedOut, LaunchIn, Operation, ProjectChange, ProjectIn, ProjectOut,
)
from app.console.bindings import (
    add_checked_binding, get_owned as get_owned_binding, list_bindings, remove_binding, to_view as to_binding_view,
    verify_binding,
)
from app.console.instances import launch, perform, set_project
from app.console.pages.common import keyring, provider_http
from app.db.models import User
from app.services.inputs import DB_ID_MAX
from app.workspaces import projects

ID = Parameter(ge=1, le=DB_ID_MAX)


class ConsoleApiController(Controller):
    path = "/api/v1/console"
    dependencies = {"api_user": Provide(provide_api_user), "workspace": Provide(provide_api_scope)}
    guards = [api_access]  # the token, then the declared permission in the named workspace
    tags = ["console"]
    security = [{"apiToken": []}]

    @get("/deployments", permission="view", operation_id="listDeployments", summary="Your deployments (not the deleted or failed ones)")
    async def deployments(self, db: NamedDependency[AsyncSession], api_user: NamedDependency[User], workspace: NamedDependency[Scope],
                          project: int | None = Parameter(ge=1, le=DB_ID_MAX, default=None,
                                                          description="only this project's")) -> list[DeploymentOut]:
        return [DeploymentOut.of(v) for v in await overview.list_deployments(db, workspace, project_id=project)]

    @patch("/deployments/{instance_id:int}", permission="operate", operation_id="updateDeployment", summary="Move a deployment to another project")
    async def update_deployment(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                                workspace: NamedDependency[Scope], data: DeploymentUpdate, instance_id: int = ID) -> DeploymentOut:
        await set_project(db, workspace, instance_id, data.project_id)
        await db.commit()
        return await fresh_deployment(request, workspace, instance_id)

    @get("/deployments/{instance_id:int}", permission="view", operation_id="getDeployment", summary="One deployment")
    async def deployment(self, db: NamedDependency[AsyncSession], api_user: NamedDependency[User], workspace: NamedDependency[Scope],
                         instance_id: int = ID) -> DeploymentOut:
        view, _history = await overview.deployment_detail(db, workspace, instance_id)
        return DeploymentOut.of(view)

    @post("/deployments", permission="operate", operation_id="launchDeployment", summary="Launch an offer on one of your keys", status_code=201)
    async def launch(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User], workspace: NamedDependency[Scope],
                     data: LaunchIn) -> DeploymentOut:
        offer = await launch_form.get_launchable_offer(db, data.offer_id)
        spec = await launch_form.spec_from_form(db, workspace, offer, {
            "binding_id": str(data.key_id), "name": data.name, "image": data.image,
            "disk_gb": "" if data.disk_gb is None else str(data.disk_gb), "ssh_public_key": data.ssh_public_key,
            "project_id": "" if data.project_id is None else str(data.project_id)})
        await db.commit()  # nothing stays open while the provider is called
        async with provider_http(request) as http:
            row = await launch(request.app.state.sessions, keyring(request), http, workspace, spec)
        return await fresh_deployment(request, workspace, row.id)

    @post("/deployments/{instance_id:int}/{operation:str}", permission="operate", operation_id="actOnDeployment", summary="start, stop, reboot or delete", status_code=200)
    async def act(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User], workspace: NamedDependency[Scope],
                  operation: Operation, instance_id: int = ID) -> DeploymentOut:
        await overview.deployment_detail(db, workspace, instance_id)  # 404 first for another user's id
        await db.commit()
        async with provider_http(request) as http:
            await perform(request.app.state.sessions, keyring(request), http, workspace, instance_id, operation)
        return await fresh_deployment(request, workspace, instance_id)

    @get("/keys", permission="view", operation_id="listKeys", summary="Your provider keys (masked)")
    async def keys(self, request: Request, db: NamedDependency[AsyncSession],
                   api_user: NamedDependency[User], workspace: NamedDependency[Scope]) -> list[KeyOut]:
        return [KeyOut.of(v) for v in await list_bindings(db, workspace, keyring(request))]

    @post("/keys/{key_id:int}/verify", permission="view", operation_id="verifyKey", status_code=200,
          summary="Check a provider key with its provider now (status: verified, invalid or unverified)")
    async def verify_key(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                         workspace: NamedDependency[Scope], key_id: int = ID) -> KeyOut:
        await get_owned_binding(db, workspace, key_id)  # another workspace's id: 404 before any provider call
        await db.commit()  # no transaction stays open across the provider call
        async with provider_http(request) as http:
            await verify_binding(request.app.state.sessions, keyring(request), http, workspace, key_id)
        async with request.app.state.sessions() as session:
            return KeyOut.of(to_binding_view(await get_owned_binding(session, workspace, key_id), keyring(request)))


    @post("/keys", permission="manage_keys", operation_id="addKey", status_code=201,
          summary="Add a provider key: checked with the provider first, stored encrypted only if it works")
    async def add_key(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                      workspace: NamedDependency[Scope], data: KeyIn) -> KeyOut:
        await db.commit()  # the provider is called with no transaction open
        async with provider_http(request) as http:
            row = await add_checked_binding(request.app.state.sessions, keyring(request), http, workspace,
                                            data.provider, data.label, dict(data.credentials))
        async with request.app.state.sessions() as session:
            return KeyOut.of(to_binding_view(await get_owned_binding(session, workspace, row.id), keyring(request)))

    @delete("/keys/{key_id:int}", permission="manage_keys", operation_id="removeKey", status_code=200,
            summary="Remove a provider key; its deployments stay listed, without a key")
    async def remove_key(self, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                         workspace: NamedDependency[Scope], key_id: int = ID) -> KeyRemovedOut:
        left = await remove_binding(db, workspace, key_id)
        await db.commit()
        return KeyRemovedOut(id=key_id, deployments_left_without_key=left)


class ConsoleProjectsApiController(Controller):
    """The organization's projects (a personal workspace has none: an empty list, and a 404 to change)."""
    path = "/api/v1/console/projects"
    dependencies = {"api_user": Provide(provide_api_user), "workspace": Provide(provide_api_scope)}
    guards = [api_access]  # the token, then the declared permission in the named workspace
    tags = ["console"]
    security = [{"apiToken": []}]

    @get("/", permission="view", operation_id="listProjects", summary="The organization's projects (a limited member: theirs)")
    async def index(self, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                    workspace: NamedDependency[Scope]) -> list[ProjectOut]:
        workspace.require("view")
        return [ProjectOut.of(v) for v in await projects.list_projects(db, workspace)]

    @post("/", permission="manage_projects", operation_id="createProject", status_code=201, summary="Create a project (owners and admins)")
    async def create(self, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                     workspace: NamedDependency[Scope], data: ProjectIn) -> ProjectOut:
        row = await projects.create(db, workspace, data.name)
        await db.commit()
        return next(ProjectOut.of(v) for v in await projects.list_projects(db, workspace) if v.id == row.id)

    @patch("/{project_id:int}", permission="manage_projects", operation_id="updateProject",
           summary="Rename a project or set who is limited to it (owners and admins)")
    async def change(self, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                     workspace: NamedDependency[Scope], data: ProjectChange, project_id: int = ID) -> ProjectOut:
        await projects.get(db, workspace, project_id)  # another workspace's: 404 before anything else
        if data.name is not None:
            await projects.rename(db, workspace, project_id, data.name)
        if data.limited_member_ids is not None:
            await projects.set_members(db, workspace, project_id, set(data.limited_member_ids))
        await db.commit()
        return next(ProjectOut.of(v) for v in await projects.list_projects(db, workspace) if v.id == project_id)

    @delete("/{project_id:int}", permission="manage_projects", operation_id="deleteProject",
            summary="Delete a project (refused while it has deployments not deleted)")
    async def remove(self, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                     workspace: NamedDependency[Scope], project_id: int = ID) -> None:
        await projects.delete(db, workspace, project_id)
        await db.commit()


async def fresh_deployment(request: Request, workspace: Scope, instance_id: int) -> DeploymentOut:
    """The deployment as it is after an action, read in a new session (the action committed in its own)."""
    async with request.app.state.sessions() as session:
        view, _history = await overview.deployment_detail(session, workspace, instance_id)
    return DeploymentOut.of(view)
