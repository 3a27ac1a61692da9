"""Workspace pages: the header's switcher, the organizations list and create form, and one
organization's members page (roles, ownership, rename, delete, leave). Plain POST forms,
CSRF-checked like every other form. An organization you are not in is a 404; a change your role
does not allow is a 403 (``roles.Forbidden``)."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.pages.common import CONSOLE_DEPENDENCIES, CONSOLE_GUARDS, Form, form_list, form_text, page
from app.db.models import User, Workspace
from app.services.inputs import parse_row_id
from app.workspaces import organizations, projects, roles
from app.workspaces.current import SESSION_WORKSPACE, choose, workspaces_of
from app.workspaces.scope import NotAMember, Scope, membership

DONE = {"created": "Organization created: you are its owner, and you now work in it.", "renamed": "Renamed.",
        "added": "Member added.", "role": "Role changed.", "removed": "Member removed.",
        "transferred": "Ownership transferred: you are an admin now."}
PROJECT_DONE = {"created": "Project created.", "renamed": "Project renamed.", "deleted": "Project deleted: its keys, "
                "templates and past deployments stay in the organization, unassigned.",
                "members": "Saved who is limited to this project."}


def _id(raw: str, name: str) -> int:
    value = parse_row_id(raw, name)
    if value is None:
        raise NotAMember()
    return value


async def _index(db: AsyncSession, user: User, *, name: str = "", notice: str | None = None,
                 error: str | None = None, status: int = 200) -> Template:
    return page("workspaces/index.html", status, user=user, workspaces=await workspaces_of(db, user.id),
                role_labels=roles.ROLE_LABELS, name=name, notice=notice, error=error)


async def _members_page(db: AsyncSession, me: Scope, *, notice: str | None = None, error: str | None = None,
                        status: int = 200) -> Template:
    return page("workspaces/members.html", status, org=await db.get(Workspace, me.workspace_id), me=me,
                members=await organizations.members(db, me), roles=roles.ROLES, role_labels=roles.ROLE_LABELS,
                matrix=roles.matrix(), notice=notice, error=error)


async def _projects_page(db: AsyncSession, me: Scope, *, notice: str | None = None, error: str | None = None,
                         name: str = "", status: int = 200) -> Template:
    projects.require_org(me)
    return page("workspaces/projects.html", status, org=await db.get(Workspace, me.workspace_id), me=me,
                projects=await projects.list_projects(db, me), limitable=await projects.limitable_members(db, me),
                role_labels=roles.ROLE_LABELS, name=name, notice=notice, error=error)


class WorkspacesController(Controller):
    path = "/workspaces"
    guards = CONSOLE_GUARDS
    dependencies = CONSOLE_DEPENDENCIES

    @post("/switch")
    async def switch(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                     data: Form) -> Redirect:
        await choose(request, db, user.id, _id(form_text(data, "workspace_id"), "workspace_id"))
        # Back to the console's start: an id on the page we came from belongs to the old workspace.
        return Redirect("/console")

    @get("/", name="workspaces")
    async def index(self, db: NamedDependency[AsyncSession], user: NamedDependency[User]) -> Template:
        return await _index(db, user)

    @post("/")
    async def create(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                     data: Form) -> Template | Redirect:
        name = form_text(data, "name")
        try:
            scope = await organizations.create(db, user, name, request.app.state.settings.billing.grace_days)
        except organizations.OrganizationError as exc:
            await db.rollback()
            return await _index(db, user, name=name, error=str(exc), status=400)
        await db.commit()
        request.session[SESSION_WORKSPACE] = scope.workspace_id
        return Redirect(f"/workspaces/{scope.workspace_id}?done=created")

    @get("/{workspace_id:int}")
    async def members(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace_id: int,
                      done: str | None = None) -> Template:
        me = await membership(db, user.id, workspace_id)
        return await _members_page(db, me, notice=DONE.get(done or ""))

    async def _change(self, db: AsyncSession, user: User, workspace_id: int, change, done: str,
                      then: str | None = None) -> Template | Redirect:
        me = await membership(db, user.id, workspace_id)  # 404 for an organization you are not in
        try:
            await change(me)
        except organizations.OrganizationError as exc:
            await db.rollback()
            return await _members_page(db, me, error=str(exc), status=400)
        await db.commit()
        return Redirect(then or f"/workspaces/{workspace_id}?done={done}")

    @post("/{workspace_id:int}/rename")
    async def rename(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace_id: int,
                     data: Form) -> Template | Redirect:
        return await self._change(db, user, workspace_id,
                                  lambda me: organizations.rename(db, me, form_text(data, "name")), "renamed")

    @post("/{workspace_id:int}/delete")
    async def delete(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                     workspace_id: int, data: Form) -> Template | Redirect:
        async def change(me: Scope) -> None:
            me.require("manage_org")
            if form_text(data, "confirm") != "yes":
                raise organizations.OrganizationError("tick the box to confirm the deletion")
            await organizations.delete(db, me)
        return await self._change(db, user, workspace_id, change, "", then="/workspaces")

    @post("/{workspace_id:int}/members")
    async def add_member(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace_id: int,
                         data: Form) -> Template | Redirect:
        return await self._change(db, user, workspace_id, lambda me: organizations.add_member(
            db, me, form_text(data, "email"), form_text(data, "role")), "added")

    @post("/{workspace_id:int}/members/{user_id:int}/role")
    async def change_role(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace_id: int,
                          user_id: int, data: Form) -> Template | Redirect:
        return await self._change(db, user, workspace_id, lambda me: organizations.change_role(
            db, me, user_id, form_text(data, "role")), "role")

    @post("/{workspace_id:int}/members/{user_id:int}/remove")
    async def remove_member(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace_id: int,
                            user_id: int) -> Template | Redirect:
        return await self._change(db, user, workspace_id, lambda me: organizations.remove_member(db, me, user_id),
                                  "removed")

    @post("/{workspace_id:int}/transfer")
    async def transfer(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace_id: int,
                       data: Form) -> Template | Redirect:
        return await self._change(db, user, workspace_id, lambda me: organizations.transfer_ownership(
            db, me, _id(form_text(data, "user_id"), "user_id")), "transferred")

    @post("/{workspace_id:int}/leave")
    async def leave(self, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                    workspace_id: int) -> Template | Redirect:
        return await self._change(db, user, workspace_id, lambda me: organizations.leave(db, me), "",
                                  then="/workspaces")

    # ---- projects ------------------------------------------------------------------------------

    @get("/{workspace_id:int}/projects")
    async def projects_index(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace_id: int,
                             done: str | None = None) -> Template:
        me = await membership(db, user.id, workspace_id)
        me.require("view")
        return await _projects_page(db, me, notice=PROJECT_DONE.get(done or ""))

    async def _project_change(self, db: AsyncSession, user: User, workspace_id: int, change, done: str,
                              name: str = "") -> Template | Redirect:
        me = await membership(db, user.id, workspace_id)  # 404 for an organization you are not in
        try:
            await change(me)
        except projects.ProjectError as exc:
            await db.rollback()
            return await _projects_page(db, me, error=str(exc), name=name, status=400)
        await db.commit()
        return Redirect(f"/workspaces/{workspace_id}/projects?done={done}")

    @post("/{workspace_id:int}/projects")
    async def create_project(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace_id: int,
                             data: Form) -> Template | Redirect:
        name = form_text(data, "name")
        return await self._project_change(db, user, workspace_id, lambda me: projects.create(db, me, name), "created",
                                          name=name)

    @post("/{workspace_id:int}/projects/{project_id:int}/rename")
    async def rename_project(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace_id: int,
                             project_id: int, data: Form) -> Template | Redirect:
        return await self._project_change(db, user, workspace_id, lambda me: projects.rename(
            db, me, project_id, form_text(data, "name")), "renamed")

    @post("/{workspace_id:int}/projects/{project_id:int}/delete")
    async def delete_project(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace_id: int,
                             project_id: int) -> Template | Redirect:
        return await self._project_change(db, user, workspace_id, lambda me: projects.delete(db, me, project_id),
                                          "deleted")

    @post("/{workspace_id:int}/projects/{project_id:int}/members")
    async def project_members(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace_id: int,
                              project_id: int, data: Form) -> Template | Redirect:
        async def change(me: Scope) -> None:
            chosen = set()
            for raw in form_list(data, "user_id"):
                user_id = parse_row_id(raw, "user_id")
                if user_id is None:
                    raise projects.ProjectError("choose members from the list")
                chosen.add(user_id)
            await projects.set_members(db, me, project_id, chosen)
        return await self._project_change(db, user, workspace_id, change, "members")
