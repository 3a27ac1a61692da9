"""The scope every console service filters by: a workspace, the user acting in it and their role.

Services take an ``Owner``: a resolved ``Scope`` (what pages and the API pass, from
``app.workspaces.current``) or a bare user id, which means that user's personal workspace acting
as its owner (what background jobs, the demo account and older callers pass)."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy import and_, false, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Project, ProjectMember, User, Workspace, WorkspaceMember
from app.db.models.workspaces import ORGANIZATION, PERSONAL
from app.db.types import utcnow
from app.workspaces import roles


class NotAMember(NotFoundException):
    """A workspace the user is not in: a 404, exactly like one that does not exist."""

    def __init__(self) -> None:
        super().__init__("Page not found")


class TwoFactorRequired(PermissionDeniedException):
    """A member without two-factor in an organization whose policy requires it: a 403 telling
    them to turn it on (pages show a page with the link, the API this detail)."""

    def __init__(self, workspace_id: int, name: str) -> None:
        super().__init__(f"{name} requires its members to use two-factor authentication: turn it on at "
                         "/settings/security to work in this organization")
        self.workspace_id = workspace_id
        self.name = name


@dataclass(frozen=True)
class Scope:
    workspace_id: int
    user_id: int
    """The acting user: written as ``user_id`` ("created by") and as the audit actor."""
    role: str
    kind: str = PERSONAL
    project_ids: frozenset[int] | None = None
    """The projects a limited member works in; None: the whole workspace (owners, admins, members
    without project memberships, personal workspaces). A limited member does NOT see unassigned
    objects: those are the organization's common pool, which its owners and admins look after."""

    @property
    def is_org(self) -> bool:
        return self.kind == ORGANIZATION

    @property
    def audit_key(self) -> str:
        """The audit log's workspace key: ``user:<id>`` for a personal workspace (as before
        workspaces existed, so old chains continue), ``org:<id>`` for an organization."""
        return f"org:{self.workspace_id}" if self.is_org else f"user:{self.user_id}"

    @property
    def is_limited(self) -> bool:
        return self.project_ids is not None

    def visible(self, model):
        """The WHERE clause of every console list and lookup: the workspace's rows of ``model``,
        only those of the member's projects when they are limited."""
        clause = model.workspace_id == self.workspace_id
        if self.project_ids is None:
            return clause
        if not self.project_ids:
            return false()
        return and_(clause, model.project_id.in_(sorted(self.project_ids)))

    def sees(self, row) -> bool:
        """``visible`` for a row already loaded (a lookup by id)."""
        return row.workspace_id == self.workspace_id and (
            self.project_ids is None or row.project_id in self.project_ids)

    def require(self, permission: str) -> None:
        roles.require(self.role, permission)

    def allows(self, permission: str) -> bool:
        return roles.allows(self.role, permission)


Owner = Scope | int


async def create_personal(session: AsyncSession, user: User) -> Workspace:
    """The personal workspace of a new user (sign-up, the demo account), with them as owner."""
    workspace = Workspace(kind=PERSONAL, name=user.name or user.email, personal_user_id=user.id, created_at=utcnow())
    session.add(workspace)
    await session.flush()
    session.add(WorkspaceMember(workspace_id=workspace.id, user_id=user.id, role="owner", created_at=utcnow()))
    await session.flush()
    return workspace


async def personal_workspace_id(session: AsyncSession, user_id: int) -> int:
    found = (await session.execute(select(Workspace.id).where(Workspace.personal_user_id == user_id))).scalar()
    if found is not None:
        return found
    # A user made outside sign-up (an operator's shell, a test factory): made on first use. The
    # unique personal_user_id settles a race: the loser reads the winner's row.
    user = await session.get(User, user_id)
    if user is None:
        raise NotAMember()
    try:
        async with session.begin_nested():
            return (await create_personal(session, user)).id
    except IntegrityError:
        return (await session.execute(select(Workspace.id).where(Workspace.personal_user_id == user_id))).scalar_one()


async def membership(session: AsyncSession, user_id: int, workspace_id: int, *,
                     enforce_two_factor: bool = True) -> Scope:
    """The user's scope in a workspace; ``NotAMember`` (404) if they are not in it.

    The one place the organization's two-factor policy is enforced: every page and API call in a
    workspace resolves its scope here, so a member without two-factor gets ``TwoFactorRequired``
    (403) instead of a scope. A personal workspace never has the policy. ``enforce_two_factor``
    is off only for leaving: the way out stays open to a member the policy keeps out."""
    row = (await session.execute(
        select(WorkspaceMember.role, Workspace.kind, Workspace.name, Workspace.require_two_factor, User.totp_enabled)
        .join(Workspace, Workspace.id == WorkspaceMember.workspace_id)
        .join(User, User.id == WorkspaceMember.user_id)
        .where(WorkspaceMember.workspace_id == workspace_id, WorkspaceMember.user_id == user_id))).first()
    if row is None:
        raise NotAMember()
    if enforce_two_factor and row.kind == ORGANIZATION and row.require_two_factor and not row.totp_enabled:
        raise TwoFactorRequired(workspace_id, row.name)
    return Scope(workspace_id=workspace_id, user_id=user_id, role=row.role, kind=row.kind,
                 project_ids=await _limited_to(session, user_id, workspace_id, row.role))


async def _limited_to(session: AsyncSession, user_id: int, workspace_id: int, role: str) -> frozenset[int] | None:
    """The member's projects in this workspace; None when they are not limited (no membership, or
    a role that sees everything)."""
    if role in roles.UNLIMITED_ROLES:
        return None
    ids = (await session.execute(select(ProjectMember.project_id).join(Project, Project.id == ProjectMember.project_id)
                                 .where(Project.workspace_id == workspace_id, ProjectMember.user_id == user_id))).scalars()
    return frozenset(ids) or None


async def resolve(session: AsyncSession, owner: Owner) -> Scope:
    if isinstance(owner, Scope):
        return owner
    return Scope(workspace_id=await personal_workspace_id(session, owner), user_id=owner, role="owner")


async def on_behalf_of(session: AsyncSession, workspace_id: int, user_id: int) -> Scope:
    """A background job acting for the user who created a row, in that row's workspace (auto-repair
    replacing an instance): full rights, because the job only finishes what was started."""
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotAMember()
    return Scope(workspace_id=workspace_id, user_id=user_id, role="owner", kind=workspace.kind)
