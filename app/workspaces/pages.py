"""Workspace pages: the header's switcher, the organizations list and create form, one
organization's members page (invitations, roles, ownership, the two-factor policy, rename, delete,
leave), and the invitation link's page (``/invitations/<token>``: accept, or sign up and join). Plain POST forms,
CSRF-checked like every other form. An organization you are not in is a 404; a change your role
does not allow is a 403 (``roles.Forbidden``)."""

from __future__ import annotations

from urllib.parse import quote

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.entitlements import organization_entitlements
from app.auth import service as accounts
from app.auth.session import start_session
from app.console.pages.common import CONSOLE_DEPENDENCIES, CONSOLE_GUARDS, Form, form_list, form_text, page
from app.db.models import User, Workspace
from app.services.inputs import parse_row_id
from app.workspaces import invitations, organizations, projects, roles
from app.workspaces.current import SESSION_WORKSPACE, choose, workspaces_of
from app.workspaces.scope import NotAMember, Scope, membership

DONE = {"created": "Organization created: you are its owner, and you now work in it.", "renamed": "Renamed.",
        "added": "Member added.", "role": "Role changed.", "removed": "Member removed.",
        "transferred": "Ownership transferred: you are an admin now.",
        "invited": "Invitation sent. It works once, for 7 days.", "revoked": "Invitation withdrawn.",
        "policy-on": "Members must now use two-factor authentication to work here.",
        "policy-off": "Two-factor authentication is no longer required here.",
        "joined": "Welcome: you are a member now, and you work in this organization."}
MAIL_FAILED = ("The invitation is saved, but its mail could not be sent. Withdraw it and invite again in a few "
               "minutes.")
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
    managing = me.allows("manage_members")
    return page("workspaces/members.html", status, org=await db.get(Workspace, me.workspace_id), me=me,
                members=await organizations.members(db, me), roles=roles.ROLES, role_labels=roles.ROLE_LABELS,
                matrix=roles.matrix(), notice=notice, error=error,
                org_plan=await organization_entitlements(db, me.workspace_id),
                invitations=await invitations.pending(db, me) if managing else [],
                without_two_factor=await organizations.without_two_factor(db, me) if me.allows("manage_org") else [])


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

    @post("/switch", permission="login")
    async def switch(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                     data: Form) -> Redirect:
        await choose(request, db, user.id, _id(form_text(data, "workspace_id"), "workspace_id"))
        # Back to the console's start: an id on the page we came from belongs to the old workspace.
        return Redirect("/console")

    @post("/personal", permission="login")
    async def home(self, request: Request) -> Redirect:
        """Back to the personal workspace (the way out of an organization that refuses you)."""
        request.session.pop(SESSION_WORKSPACE, None)
        return Redirect("/console")

    @get("/", name="workspaces", permission="login")
    async def index(self, db: NamedDependency[AsyncSession], user: NamedDependency[User]) -> Template:
        return await _index(db, user)

    @post("/", permission="login")
    async def create(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                     data: Form) -> Template | Redirect:
        name = form_text(data, "name")
        try:
            scope = await organizations.create(db, user, name, request.app.state.settings.billing.grace_days)
        except organizations.OrganizationError as exc:
            await db.rollback()
            await db.refresh(user)  # the rollback expired it; the page reads it again (async: no lazy load)
            return await _index(db, user, name=name, error=str(exc), status=400)
        await db.commit()
        request.session[SESSION_WORKSPACE] = scope.workspace_id
        return Redirect(f"/workspaces/{scope.workspace_id}?done=created")

    @get("/{workspace_id:int}", permission="view")
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

    @post("/{workspace_id:int}/rename", permission="manage_org")
    async def rename(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace_id: int,
                     data: Form) -> Template | Redirect:
        return await self._change(db, user, workspace_id,
                                  lambda me: organizations.rename(db, me, form_text(data, "name")), "renamed")

    @post("/{workspace_id:int}/delete", permission="manage_org")
    async def delete(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                     workspace_id: int, data: Form) -> Template | Redirect:
        async def change(me: Scope) -> None:
            me.require("manage_org")
            if form_text(data, "confirm") != "yes":
                raise organizations.OrganizationError("tick the box to confirm the deletion")
            await organizations.delete(db, me)
        return await self._change(db, user, workspace_id, change, "", then="/workspaces")

    @post("/{workspace_id:int}/members", permission="manage_members")
    async def add_member(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace_id: int,
                         data: Form) -> Template | Redirect:
        return await self._change(db, user, workspace_id, lambda me: organizations.add_member(
            db, me, form_text(data, "email"), form_text(data, "role")), "added")

    @post("/{workspace_id:int}/invitations", permission="manage_members")
    async def invite(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                     workspace_id: int, data: Form) -> Template | Redirect:
        me = await membership(db, user.id, workspace_id)
        try:
            invited = await invitations.invite(db, me, form_text(data, "email"), form_text(data, "role"))
        except organizations.OrganizationError as exc:
            await db.rollback()
            return await _members_page(db, me, error=str(exc), status=400)
        await db.commit()
        if not await invitations.mail_invitation(request.app.state.settings, invited, user):
            return await _members_page(db, me, error=MAIL_FAILED, status=503)
        return Redirect(f"/workspaces/{workspace_id}?done=invited")

    @post("/{workspace_id:int}/invitations/{invitation_id:int}/revoke", permission="manage_members")
    async def revoke(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace_id: int,
                     invitation_id: int) -> Template | Redirect:
        return await self._change(db, user, workspace_id, lambda me: invitations.revoke(db, me, invitation_id),
                                  "revoked")

    @post("/{workspace_id:int}/two-factor", permission="manage_org")
    async def two_factor_policy(self, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                                workspace_id: int, data: Form) -> Template | Redirect:
        on = form_text(data, "require") == "on"
        return await self._change(db, user, workspace_id, lambda me: organizations.set_two_factor_policy(db, me, on),
                                  "policy-on" if on else "policy-off")

    @post("/{workspace_id:int}/members/{user_id:int}/role", permission="manage_members")
    async def change_role(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace_id: int,
                          user_id: int, data: Form) -> Template | Redirect:
        return await self._change(db, user, workspace_id, lambda me: organizations.change_role(
            db, me, user_id, form_text(data, "role")), "role")

    @post("/{workspace_id:int}/members/{user_id:int}/remove", permission="manage_members")
    async def remove_member(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace_id: int,
                            user_id: int) -> Template | Redirect:
        return await self._change(db, user, workspace_id, lambda me: organizations.remove_member(db, me, user_id),
                                  "removed")

    @post("/{workspace_id:int}/transfer", permission="manage_org")
    async def transfer(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace_id: int,
                       data: Form) -> Template | Redirect:
        return await self._change(db, user, workspace_id, lambda me: organizations.transfer_ownership(
            db, me, _id(form_text(data, "user_id"), "user_id")), "transferred")

    @post("/{workspace_id:int}/leave", permission="view", two_factor_exempt=True)
    async def leave(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                    workspace_id: int) -> Template | Redirect:
        # Leaving does not need two-factor: a member the organization's policy keeps out may go.
        me = await membership(db, user.id, workspace_id, enforce_two_factor=False)
        try:
            await organizations.leave(db, me)
        except organizations.OrganizationError as exc:
            await db.rollback()
            return await _members_page(db, me, error=str(exc), status=400)
        await db.commit()
        if request.session.get(SESSION_WORKSPACE) == workspace_id:
            request.session.pop(SESSION_WORKSPACE, None)
        return Redirect("/workspaces")


    # ---- projects ------------------------------------------------------------------------------

    @get("/{workspace_id:int}/projects", permission="view")
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

    @post("/{workspace_id:int}/projects", permission="manage_projects")
    async def create_project(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace_id: int,
                             data: Form) -> Template | Redirect:
        name = form_text(data, "name")
        return await self._project_change(db, user, workspace_id, lambda me: projects.create(db, me, name), "created",
                                          name=name)

    @post("/{workspace_id:int}/projects/{project_id:int}/rename", permission="manage_projects")
    async def rename_project(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace_id: int,
                             project_id: int, data: Form) -> Template | Redirect:
        return await self._project_change(db, user, workspace_id, lambda me: projects.rename(
            db, me, project_id, form_text(data, "name")), "renamed")

    @post("/{workspace_id:int}/projects/{project_id:int}/delete", permission="manage_projects")
    async def delete_project(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], workspace_id: int,
                             project_id: int) -> Template | Redirect:
        return await self._project_change(db, user, workspace_id, lambda me: projects.delete(db, me, project_id),
                                          "deleted")

    @post("/{workspace_id:int}/projects/{project_id:int}/members", permission="manage_projects")
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


def _invitation_page(token: str, user: User | None, *, invitation=None, organization: str | None = None,
                     error: str | None = None, status: int = 200, form: dict | None = None,
                     wrong_account: bool = False) -> Template:
    return page("workspaces/invitation.html", status, user=user, token=token, invitation=invitation,
                wrong_account=wrong_account,
                organization=organization, role_labels=roles.ROLE_LABELS, error=error, form=form or {},
                login_next=quote(f"{invitations.PATH}/{token}", safe=""))


class InvitationController(Controller):
    """The link in the invitation mail, logged in or not. Its ``GET`` only shows the invitation
    (mail scanners open links: a GET must not use it up); accepting is a ``POST``."""

    path = invitations.PATH
    dependencies = CONSOLE_DEPENDENCIES

    @get("/{token:str}", permission="public")
    async def show(self, db: NamedDependency[AsyncSession], user: NamedDependency[User | None],
                   token: str) -> Template:
        try:
            row, name = await invitations.open_link(db, token)
        except invitations.InvitationError as exc:
            return _invitation_page(token, user, error=str(exc), status=400)
        if user is not None and user.email != row.email:
            return _invitation_page(token, user, invitation=row, organization=name, status=403, wrong_account=True,
                                    error=f"This invitation is for {row.email}, and you are signed in as "
                                          f"{user.email}. Log out, then open the link again.")
        return _invitation_page(token, user, invitation=row, organization=name)

    @post("/{token:str}/accept", permission="public")
    async def accept(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User | None],
                     token: str) -> Template | Redirect:
        if user is None:
            return Redirect(f"/login?next={quote(f'{invitations.PATH}/{token}', safe='')}")
        try:
            scope = await invitations.accept(db, token, user)
        except invitations.InvitationError as exc:
            await db.rollback()
            return _invitation_page(token, user, error=str(exc),
                                    status=403 if isinstance(exc, invitations.WrongAccount) else 400)
        await db.commit()
        request.session[SESSION_WORKSPACE] = scope.workspace_id
        return Redirect(f"/workspaces/{scope.workspace_id}?done=joined")

    @post("/{token:str}/signup", permission="public")
    async def signup(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User | None],
                     token: str, data: Form) -> Template | Redirect:
        """A new account with the invited address, in the organization at once."""
        if user is not None:
            return Redirect(f"{invitations.PATH}/{token}")
        typed = {"name": form_text(data, "name")}
        try:
            row, name = await invitations.open_link(db, token)
        except invitations.InvitationError as exc:
            return _invitation_page(token, None, error=str(exc), status=400)
        try:
            account = await accounts.signup(db, row.email, typed["name"], form_text(data, "password"))
            scope = await invitations.accept(db, token, account)
        except (accounts.AccountError, invitations.InvitationError) as exc:
            await db.rollback()
            row, name = await invitations.open_link(db, token)
            return _invitation_page(token, None, invitation=row, organization=name, error=str(exc), status=400,
                                    form=typed)
        await db.commit()
        start_session(request, account)
        request.session[SESSION_WORKSPACE] = scope.workspace_id
        return Redirect(f"/workspaces/{scope.workspace_id}?done=joined")
