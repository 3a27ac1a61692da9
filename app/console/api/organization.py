"""``/api/v1/console/organization``: the organization the ``X-ComputeHub-Workspace`` header names:
its members and pending invitations, inviting by e-mail, revoking, removing a member, leaving,
transferring ownership, the two-factor policy.

The members page's services (``app.workspaces``): the same roles, audit events and refusals. In
a personal workspace (no header) every path is a 404, like an id of another workspace."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime

from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ClientException
from msgspec import Struct
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.api.auth import api_access, provide_api_scope, provide_api_user
from app.db.models import User, Workspace
from app.workspaces import invitations, organizations
from app.workspaces.scope import Scope


class MemberOut(Struct):
    user_id: int
    name: str
    email: str
    role: str


class InvitationOut(Struct):
    id: int
    email: str
    role: str
    created_at: datetime
    expires_at: datetime
    mailed: bool = True
    """False: the invitation is saved but its mail could not be sent (revoke it, invite again later)."""


class InvitationIn(Struct, forbid_unknown_fields=True):
    email: str
    role: str = "member"


class TransferIn(Struct, forbid_unknown_fields=True):
    user_id: int


class TwoFactorPolicy(Struct, forbid_unknown_fields=True):
    require_two_factor: bool


async def _refused(db: AsyncSession, exc: organizations.OrganizationError) -> ClientException:
    await db.rollback()
    return ClientException(str(exc))  # 400 with the same words as the page


async def _committed(db: AsyncSession, change: Awaitable[object]) -> None:
    """Run an organization change and commit it; a refusal rolls back and is a 400."""
    try:
        await change
    except organizations.OrganizationError as exc:
        raise await _refused(db, exc) from None
    await db.commit()


class ConsoleOrganizationApiController(Controller):
    path = "/api/v1/console/organization"
    dependencies = {"api_user": Provide(provide_api_user), "workspace": Provide(provide_api_scope)}
    guards = [api_access]
    tags = ["console"]
    security = [{"apiToken": []}]

    @get("/members", permission="view", operation_id="listMembers", summary="The organization's members and their roles")
    async def members(self, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                      workspace: NamedDependency[Scope]) -> list[MemberOut]:
        return [MemberOut(*row) for row in await organizations.members(db, workspace)]

    @get("/invitations", permission="manage_members", operation_id="listInvitations", summary="Pending invitations (needs manage_members)")
    async def pending(self, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                      workspace: NamedDependency[Scope]) -> list[InvitationOut]:
        return [InvitationOut(v.id, v.email, v.role, v.created_at, v.expires_at)
                for v in await invitations.pending(db, workspace)]

    @post("/invitations", permission="manage_members", operation_id="inviteMember", status_code=201,
          summary="Invite an e-mail address with a role: a link that works once, for 7 days, is mailed to it")
    async def invite(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                     workspace: NamedDependency[Scope], data: InvitationIn) -> InvitationOut:
        try:
            invited = await invitations.invite(db, workspace, data.email, data.role)
        except organizations.OrganizationError as exc:
            raise await _refused(db, exc) from None
        row = invited.invitation
        out = InvitationOut(row.id, row.email, row.role, row.created_at, row.expires_at)
        await db.commit()
        out.mailed = await invitations.mail_invitation(request.app.state.settings, invited, api_user)
        return out

    @delete("/invitations/{invitation_id:int}", permission="manage_members", operation_id="revokeInvitation",
            summary="Withdraw a pending invitation (its link stops working)")
    async def revoke(self, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                     workspace: NamedDependency[Scope], invitation_id: int) -> None:
        await invitations.revoke(db, workspace, invitation_id)
        await db.commit()

    @delete("/members/{user_id:int}", permission="manage_members", operation_id="removeMember", summary="Remove a member (not the owner)")
    async def remove(self, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                     workspace: NamedDependency[Scope], user_id: int) -> None:
        await _committed(db, organizations.remove_member(db, workspace, user_id))

    @post("/leave", permission="view", operation_id="leaveOrganization", status_code=204,
          summary="Leave the organization (the owner transfers ownership first)")
    async def leave(self, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                    workspace: NamedDependency[Scope]) -> None:
        await _committed(db, organizations.leave(db, workspace))

    @post("/transfer", permission="manage_org", operation_id="transferOwnership", status_code=200,
          summary="Make another member the owner (owner only); you stay, as an admin")
    async def transfer(self, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                       workspace: NamedDependency[Scope], data: TransferIn) -> list[MemberOut]:
        await _committed(db, organizations.transfer_ownership(db, workspace, data.user_id))
        now_admin = Scope(workspace.workspace_id, workspace.user_id, "admin", workspace.kind)
        return [MemberOut(*row) for row in await organizations.members(db, now_admin)]

    @put("/two-factor", permission="manage_org", operation_id="setTwoFactorPolicy",
         summary="Require two-factor of every member (owner only; refused while you have none yourself)")
    async def two_factor(self, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                         workspace: NamedDependency[Scope], data: TwoFactorPolicy) -> TwoFactorPolicy:
        await _committed(db, organizations.set_two_factor_policy(db, workspace, data.require_two_factor))
        return TwoFactorPolicy((await db.get(Workspace, workspace.workspace_id)).require_two_factor)
