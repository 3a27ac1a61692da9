"""Organizations: create (starting a 14-day Enterprise trial), rename, delete, members and their roles, ownership, the
"members must use two-factor" policy (enforced in ``scope.membership``), and what deleting an
account does to the organizations it owns or is in.

Every change is in the organization's audit chain (``org:<id>``) with actor and before/after.
Each function takes the caller's ``Scope`` in that organization (``membership``: 404 for an
outsider) and checks its permission with the one table in ``roles``.

An organization's plan is its own subscription (``app.billing.organization_plan``; bought on its
billing page, a Stripe customer per organization), never the acting member's personal plan."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.billing import organization_plan
from app.db.models import Instance, User, Workspace, WorkspaceMember
from app.db.models.workspaces import ORGANIZATION
from app.db.types import utcnow
from app.workspaces import roles
from app.workspaces.scope import NotAMember, Scope

FEATURE = organization_plan.FEATURE
MAX_NAME = 120
_GONE = ("terminated", "failed")


class OrganizationError(ValueError):
    """A refused change, with a message to show (400)."""


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise OrganizationError(f"give the organization a name of up to {MAX_NAME} characters")
    return name


async def _record(session: AsyncSession, scope: Scope, action: str, **values) -> None:
    await audit.record(session, f"org:{scope.workspace_id}", action, await audit.actor_for(session, scope.user_id),
                       **values)


async def owner_of(session: AsyncSession, workspace_id: int) -> int:
    return (await session.execute(select(WorkspaceMember.user_id).where(
        WorkspaceMember.workspace_id == workspace_id, WorkspaceMember.role == "owner"))).scalar_one()


async def create(session: AsyncSession, user: User, name: str, grace_days: int = 7) -> Scope:
    """Anyone may create one, whatever their personal plan: it starts on its own trial of the
    organization plan (``grace_days`` is kept for older callers; the trial does not use it)."""
    now = utcnow()
    workspace = Workspace(kind=ORGANIZATION, name=_clean_name(name), created_at=now)
    session.add(workspace)
    await session.flush()
    session.add(WorkspaceMember(workspace_id=workspace.id, user_id=user.id, role="owner", created_at=now))
    await organization_plan.start_trial(session, workspace.id, user.id, now)
    scope = Scope(workspace.id, user.id, "owner", ORGANIZATION)
    await _record(session, scope, "org.created", target_type="organization", target_id=workspace.id,
                  after={"name": workspace.name})
    return scope


def org_only(scope: Scope) -> None:
    if not scope.is_org:
        raise NotAMember()  # a personal workspace has no organization pages


async def rename(session: AsyncSession, scope: Scope, name: str) -> None:
    org_only(scope)
    scope.require("manage_org")
    workspace = await session.get(Workspace, scope.workspace_id)
    name = _clean_name(name)
    if name != workspace.name:
        await _record(session, scope, "org.renamed", target_type="organization", target_id=workspace.id,
                      before={"name": workspace.name}, after={"name": name})
        workspace.name = name


async def delete(session: AsyncSession, scope: Scope) -> None:
    """Refused while any instance in it is not deleted: nothing may keep running unowned."""
    org_only(scope)
    scope.require("manage_org")
    alive = (await session.execute(select(func.count()).select_from(Instance).where(
        Instance.workspace_id == scope.workspace_id, Instance.status.not_in(_GONE)))).scalar_one()
    if alive:
        raise OrganizationError(f"delete its {alive} instance(s) first: an organization with instances "
                                f"that are not deleted cannot be deleted")
    workspace = await session.get(Workspace, scope.workspace_id)
    await _record(session, scope, "org.deleted", target_type="organization", target_id=workspace.id,
                  before={"name": workspace.name})
    await session.delete(workspace)  # keys, templates and records go with it (ON DELETE CASCADE)


async def members(session: AsyncSession, scope: Scope) -> list[tuple[int, str, str, str]]:
    """(user id, name, e-mail, role), owner first."""
    org_only(scope)
    scope.require("view")
    order = {role: n for n, role in enumerate(roles.ROLES)}
    rows = (await session.execute(
        select(User.id, User.name, User.email, WorkspaceMember.role).join(WorkspaceMember, WorkspaceMember.user_id == User.id)
        .where(WorkspaceMember.workspace_id == scope.workspace_id))).all()
    return sorted((tuple(r) for r in rows), key=lambda r: (order.get(r[3], 99), r[2]))


async def _member(session: AsyncSession, scope: Scope, user_id: int) -> WorkspaceMember:
    row = (await session.execute(select(WorkspaceMember).where(
        WorkspaceMember.workspace_id == scope.workspace_id, WorkspaceMember.user_id == user_id))).scalar_one_or_none()
    if row is None:
        raise NotAMember()
    return row


def check_role(role: str) -> str:
    if role not in roles.ROLES or role == "owner":
        raise OrganizationError("choose admin, member, viewer or billing (ownership is transferred, not given)")
    return role


async def add_member(session: AsyncSession, scope: Scope, email: str, role: str) -> None:
    """An existing account joins directly (operators, tests, the demo data); the members page and
    the API invite by e-mail instead (``invitations``), which the invitee accepts."""
    org_only(scope)
    scope.require("manage_members")
    role = check_role(role)
    user = (await session.execute(select(User).where(
        User.email == (email or "").strip().lower(), User.deleted_at.is_(None)))).scalar_one_or_none()
    if user is None:
        raise OrganizationError("no ComputeHub account has this e-mail address")
    taken = (await session.execute(select(WorkspaceMember.id).where(
        WorkspaceMember.workspace_id == scope.workspace_id, WorkspaceMember.user_id == user.id))).first()
    if taken:
        raise OrganizationError(f"{user.email} is already a member")
    session.add(WorkspaceMember(workspace_id=scope.workspace_id, user_id=user.id, role=role, created_at=utcnow()))
    await _record(session, scope, "org.member_added", target_type="member", target_id=user.id,
                  after={"email": user.email, "role": role})


async def change_role(session: AsyncSession, scope: Scope, user_id: int, role: str) -> None:
    org_only(scope)
    scope.require("manage_members")
    row = await _member(session, scope, user_id)
    role = check_role(role)
    if row.role == "owner":
        raise OrganizationError("the owner's role changes only by transferring ownership")
    if row.role != role:
        await _record(session, scope, "org.role_changed", target_type="member", target_id=user_id,
                      before={"role": row.role}, after={"role": role})
        row.role = role


async def remove_member(session: AsyncSession, scope: Scope, user_id: int) -> None:
    org_only(scope)
    scope.require("manage_members")
    row = await _member(session, scope, user_id)
    if row.role == "owner":
        raise OrganizationError("the owner cannot be removed: transfer ownership first")
    await _record(session, scope, "org.member_removed", target_type="member", target_id=user_id,
                  before={"role": row.role})
    await session.delete(row)


async def transfer_ownership(session: AsyncSession, scope: Scope, user_id: int) -> None:
    """The new owner must already be a member; the old owner stays, as an admin."""
    org_only(scope)
    scope.require("manage_org")
    target = await _member(session, scope, user_id)
    if target.user_id == scope.user_id:
        raise OrganizationError("you already own this organization")
    current = await _member(session, scope, scope.user_id)
    await _record(session, scope, "org.ownership_transferred", target_type="member", target_id=user_id,
                  before={"owner": scope.user_id, "role": target.role}, after={"owner": user_id})
    current.role, target.role = "admin", "owner"


async def leave(session: AsyncSession, scope: Scope) -> None:
    org_only(scope)
    row = await _member(session, scope, scope.user_id)
    if row.role == "owner":
        raise OrganizationError("the owner cannot leave: transfer ownership (or delete the organization) first")
    await _record(session, scope, "org.member_left", target_type="member", target_id=scope.user_id,
                  before={"role": row.role})
    await session.delete(row)


async def set_two_factor_policy(session: AsyncSession, scope: Scope, on: bool) -> None:
    """Owner only. Turning it on is refused while the owner has no two-factor themself (they would
    lock themself out of their own organization)."""
    org_only(scope)
    scope.require("manage_org")
    workspace = await session.get(Workspace, scope.workspace_id)
    if on and not (await session.get(User, scope.user_id)).totp_enabled:
        raise OrganizationError("turn on two-factor authentication for your own account first "
                                "(/settings/security), then require it of the members")
    if workspace.require_two_factor != on:
        await _record(session, scope, "org.two_factor_policy", target_type="organization", target_id=workspace.id,
                      before={"require_two_factor": workspace.require_two_factor}, after={"require_two_factor": on})
        workspace.require_two_factor = on


async def without_two_factor(session: AsyncSession, scope: Scope) -> list[str]:
    """E-mail addresses of the members the policy would keep out (shown next to the switch)."""
    org_only(scope)
    return list((await session.execute(
        select(User.email).join(WorkspaceMember, WorkspaceMember.user_id == User.id)
        .where(WorkspaceMember.workspace_id == scope.workspace_id, User.totp_enabled.is_(False))
        .order_by(User.email))).scalars())


class OwnsSharedOrganization(OrganizationError):
    """The account owns an organization other people are in: ownership goes first."""


async def release_for_account_deletion(session: AsyncSession, user_id: int) -> None:
    """Before an account is erased: refused if it owns an organization with other members (they
    would be left without an owner); an organization it alone is in is deleted with it (same rules
    as deleting it by hand: not while its instances live). The caller's transaction, all or nothing."""
    owned = (await session.execute(select(Workspace).join(WorkspaceMember, WorkspaceMember.workspace_id == Workspace.id)
             .where(Workspace.kind == ORGANIZATION, WorkspaceMember.user_id == user_id,
                    WorkspaceMember.role == "owner").order_by(Workspace.id))).scalars().all()
    for workspace in owned:
        others = (await session.execute(select(func.count()).select_from(WorkspaceMember).where(
            WorkspaceMember.workspace_id == workspace.id, WorkspaceMember.user_id != user_id))).scalar_one()
        if others:
            raise OwnsSharedOrganization(
                f"you own the organization {workspace.name}, which has {others} other member(s): transfer its "
                "ownership to one of them (or remove them and delete it) first, then delete the account")
    for workspace in owned:
        await delete(session, Scope(workspace.id, user_id, "owner", ORGANIZATION))
    # The organizations it is only a member of: it leaves them (a deleted account stays no one's member).
    joined = (await session.execute(select(WorkspaceMember).join(Workspace, Workspace.id == WorkspaceMember.workspace_id)
              .where(Workspace.kind == ORGANIZATION, WorkspaceMember.user_id == user_id))).scalars().all()
    for row in joined:
        await leave(session, Scope(row.workspace_id, user_id, row.role, ORGANIZATION))
