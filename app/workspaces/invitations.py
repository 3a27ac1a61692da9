"""Invitations into an organization by e-mail.

A member with ``manage_members`` invites an address with a role; the link mailed to it carries a
random token of which only the SHA-256 is stored. It works once, until ``INVITATION_TTL``, and
can be revoked; inviting the same address again retires the earlier link. Accepting needs an
account with exactly the invited address (signing up from the link makes one). Every step is in
the organization's audit chain. Callers commit, then mail (no mail for a change rolled back).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.auth.service import AccountError, normalize_email
from app.db.models import User, Workspace, WorkspaceInvitation, WorkspaceMember
from app.db.types import utcnow
from app.notifications.mail import send_after_commit
from app.settings import Settings
from app.billing.organization_plan import require_organization_plan
from app.workspaces.organizations import OrganizationError, check_role, org_only
from app.workspaces.roles import ROLE_LABELS
from app.db.models.workspaces import ORGANIZATION
from app.workspaces.scope import NotAMember, Scope

INVITATION_TTL = timedelta(days=7)
PATH = "/invitations"


class InvitationError(OrganizationError):
    """A link that cannot be used (unknown, expired, revoked, used) or a refused accept: 400."""


class WrongAccount(InvitationError):
    """Signed in as another address than the invited one."""


@dataclass(frozen=True)
class Invited:
    invitation: WorkspaceInvitation
    token: str
    organization: str


@dataclass(frozen=True)
class PendingView:
    id: int
    email: str
    role: str
    created_at: datetime
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


def link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{PATH}/{token}"


def _is_pending(row: WorkspaceInvitation, now: datetime) -> bool:
    return row.accepted_at is None and row.revoked_at is None and row.expires_at > now


async def _record(session: AsyncSession, workspace_id: int, actor_id: int, action: str, **values) -> None:
    await audit.record(session, f"org:{workspace_id}", action, await audit.actor_for(session, actor_id), **values)


async def invite(session: AsyncSession, scope: Scope, email: str, role: str, now: datetime | None = None) -> Invited:
    org_only(scope)
    scope.require("manage_members")
    await require_organization_plan(session, scope)  # a lapsed organization invites no one
    role = check_role(role)
    try:
        email = normalize_email(email)
    except AccountError as exc:
        raise OrganizationError(str(exc)) from None
    member = (await session.execute(
        select(WorkspaceMember.id).join(User, User.id == WorkspaceMember.user_id)
        .where(WorkspaceMember.workspace_id == scope.workspace_id, User.email == email))).first()
    if member:
        raise OrganizationError(f"{email} is already a member")
    now = now or utcnow()
    # One live link per address: inviting again (a lost mail, another role) retires the earlier one.
    await session.execute(
        update(WorkspaceInvitation).where(
            WorkspaceInvitation.workspace_id == scope.workspace_id, WorkspaceInvitation.email == email,
            WorkspaceInvitation.accepted_at.is_(None), WorkspaceInvitation.revoked_at.is_(None))
        .values(revoked_at=now).execution_options(synchronize_session=False))
    token = secrets.token_urlsafe(32)
    row = WorkspaceInvitation(workspace_id=scope.workspace_id, email=email, role=role, token_hash=token_hash(token),
                              invited_by=scope.user_id, created_at=now, expires_at=now + INVITATION_TTL)
    session.add(row)
    await session.flush()
    await _record(session, scope.workspace_id, scope.user_id, "org.member_invited", target_type="invitation",
                  target_id=row.id, after={"email": email, "role": role})
    workspace = await session.get(Workspace, scope.workspace_id)
    return Invited(row, token, workspace.name)


async def pending(session: AsyncSession, scope: Scope, now: datetime | None = None) -> list[PendingView]:
    org_only(scope)
    scope.require("manage_members")
    now = now or utcnow()
    rows = (await session.execute(select(WorkspaceInvitation).where(
        WorkspaceInvitation.workspace_id == scope.workspace_id, WorkspaceInvitation.accepted_at.is_(None),
        WorkspaceInvitation.revoked_at.is_(None), WorkspaceInvitation.expires_at > now)
        .order_by(WorkspaceInvitation.created_at, WorkspaceInvitation.id))).scalars()
    return [PendingView(r.id, r.email, r.role, r.created_at, r.expires_at) for r in rows]


async def revoke(session: AsyncSession, scope: Scope, invitation_id: int, now: datetime | None = None) -> None:
    """Another organization's invitation, or one no longer pending: 404."""
    org_only(scope)
    scope.require("manage_members")
    now = now or utcnow()
    row = await session.get(WorkspaceInvitation, invitation_id)
    if row is None or row.workspace_id != scope.workspace_id or not _is_pending(row, now):
        raise NotAMember()
    row.revoked_at = now
    await _record(session, scope.workspace_id, scope.user_id, "org.invitation_revoked", target_type="invitation",
                  target_id=row.id, before={"email": row.email, "role": row.role})


async def open_link(session: AsyncSession, token: str, now: datetime | None = None) -> tuple[WorkspaceInvitation, str]:
    """The pending invitation behind ``token`` and its organization's name, or an
    ``InvitationError`` that says why the link does not work."""
    now = now or utcnow()
    row = (await session.execute(select(WorkspaceInvitation).where(
        WorkspaceInvitation.token_hash == token_hash(token)))).scalar_one_or_none()
    if row is None:
        raise InvitationError("this invitation link is not valid: check that you opened the whole link from the mail")
    if row.accepted_at is not None:
        raise InvitationError("this invitation was already used: it works once. If you accepted it, the "
                              "organization is in your workspace switcher")
    if row.revoked_at is not None:
        raise InvitationError("this invitation was withdrawn: ask the organization's admins for a new one")
    if row.expires_at <= now:
        raise InvitationError(f"this invitation expired on {row.expires_at:%Y-%m-%d}: ask the organization's "
                              "admins for a new one")
    workspace = await session.get(Workspace, row.workspace_id)
    return row, workspace.name


async def accept(session: AsyncSession, token: str, user: User, now: datetime | None = None) -> Scope:
    """Join with the invited role. The caller commits. The account must have the invited address
    (a link forwarded to someone else does not let them in)."""
    now = now or utcnow()
    row, name = await open_link(session, token, now)
    if user.deleted_at is not None or user.email != row.email:
        raise WrongAccount(f"this invitation is for {row.email}, and you are signed in as {user.email}: "
                           "log out, then open the link again and sign in (or sign up) with that address")
    taken = (await session.execute(select(WorkspaceMember.id).where(
        WorkspaceMember.workspace_id == row.workspace_id, WorkspaceMember.user_id == user.id))).first()
    if taken:
        raise InvitationError(f"you are already a member of {name}")
    # Conditional write: the link works once, even when opened twice at the same moment.
    used = await session.execute(
        update(WorkspaceInvitation).where(WorkspaceInvitation.id == row.id, WorkspaceInvitation.accepted_at.is_(None),
                                          WorkspaceInvitation.revoked_at.is_(None))
        .values(accepted_at=now, accepted_by=user.id).execution_options(synchronize_session=False))
    if used.rowcount != 1:
        raise InvitationError("this invitation was already used: it works once")
    session.add(WorkspaceMember(workspace_id=row.workspace_id, user_id=user.id, role=row.role, created_at=now))
    await session.flush()
    await _record(session, row.workspace_id, user.id, "org.invitation_accepted", target_type="member",
                  target_id=user.id, after={"email": user.email, "role": row.role, "invitation": row.id})
    # Not ``membership``: under a two-factor policy it would refuse the new member, who must still
    # join (they are then told to turn two-factor on).
    return Scope(row.workspace_id, user.id, row.role, ORGANIZATION)


def mail_text(organization: str, inviter: str, role_label: str, url: str) -> tuple[str, str]:
    """(subject, text) of the invitation mail."""
    return (f"You are invited to {organization} on ComputeHub",
            f"Hello,\n\n{inviter} invites you to join the organization {organization} on ComputeHub as "
            f"{role_label.lower()}.\n\nTo accept, open this link within {INVITATION_TTL.days} days:\n\n{url}\n\n"
            "You can sign up from it if you have no account yet. If you did not expect this, ignore this "
            "message.\n")


async def mail_invitation(settings: Settings, invited: Invited, inviter: User) -> bool:
    """After the commit, through the app's one mail path (SMTP, or the outbox folder locally)."""
    subject, text = mail_text(invited.organization, inviter.name or inviter.email,
                              ROLE_LABELS[invited.invitation.role], link(settings.web.base_url, invited.token))
    return await send_after_commit(settings.mail, invited.invitation.email, subject, text)
