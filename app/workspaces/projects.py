"""Projects inside an organization: create, rename, delete, who is limited to them, and the one
check every assignment goes through (``assignable``).

What a project limits is read in ONE place: ``Scope.project_ids`` (resolved in ``membership``) and
``Scope.visible``/``Scope.sees``, which the console's lists and lookups use. Personal workspaces
have no projects. Every change is in the organization's audit chain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from litestar.exceptions import NotFoundException
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.billing.organization_plan import require_organization_plan
from app.db.models import Instance, Project, ProjectMember, User, WorkspaceMember
from app.db.types import utcnow
from app.services.inputs import InvalidField, parse_row_id
from app.workspaces import roles
from app.workspaces.scope import NotAMember, Scope

MAX_NAME = 120
_GONE = ("terminated", "failed")


class ProjectError(InvalidField):
    """A refused change or assignment, with a message to show (400)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "project_id")


class NoSuchProject(NotFoundException):
    """Another workspace's project, or one a limited member is not in: a 404 like a missing one."""

    def __init__(self) -> None:
        super().__init__("no such project")


@dataclass(frozen=True)
class ProjectView:
    id: int
    name: str
    created_at: datetime
    alive_instances: int
    """Instances not deleted: while there are any, the project cannot be deleted."""
    member_ids: frozenset[int]
    """The members limited to it (among others, perhaps)."""


def require_org(scope: Scope) -> None:
    if not scope.is_org:
        raise NotAMember()  # a personal workspace has no projects


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not 1 <= len(name) <= MAX_NAME or "\x00" in name:
        raise ProjectError(f"give the project a name of up to {MAX_NAME} characters")
    return name


async def _record(session: AsyncSession, scope: Scope, action: str, project_id: int, **values) -> None:
    await audit.record(session, scope.audit_key, action, await audit.actor_for(session, scope.user_id),
                       target_type="project", target_id=project_id, project=project_id, **values)


async def _refuse_taken(session: AsyncSession, scope: Scope, name: str, renaming: int = 0) -> None:
    taken = (await session.execute(select(func.count()).select_from(Project).where(
        Project.workspace_id == scope.workspace_id, func.lower(Project.name) == name.lower(),
        Project.id != renaming))).scalar_one()
    if taken:
        raise ProjectError(f"there is already a project named {name!r}")


async def get(session: AsyncSession, scope: Scope, project_id: int) -> Project:
    """One of the workspace's projects the scope may see (a limited member: only theirs)."""
    row = await session.get(Project, project_id)
    if row is None or row.workspace_id != scope.workspace_id or (
            scope.project_ids is not None and row.id not in scope.project_ids):
        raise NoSuchProject()
    return row


async def list_projects(session: AsyncSession, scope: Scope) -> list[ProjectView]:
    """The projects the scope may see, by name (none in a personal workspace)."""
    if not scope.is_org:
        return []
    stmt = select(Project).where(Project.workspace_id == scope.workspace_id)
    if scope.project_ids is not None:
        stmt = stmt.where(Project.id.in_(sorted(scope.project_ids)))
    projects = list((await session.execute(stmt.order_by(func.lower(Project.name), Project.id))).scalars())
    ids = [p.id for p in projects]
    alive = dict((await session.execute(
        select(Instance.project_id, func.count()).where(Instance.project_id.in_(ids), Instance.status.not_in(_GONE))
        .group_by(Instance.project_id))).all()) if ids else {}
    members: dict[int, set[int]] = {}
    if ids:
        for project_id, user_id in await session.execute(
                select(ProjectMember.project_id, ProjectMember.user_id).where(ProjectMember.project_id.in_(ids))):
            members.setdefault(project_id, set()).add(user_id)
    return [ProjectView(p.id, p.name, p.created_at, alive.get(p.id, 0), frozenset(members.get(p.id, ())))
            for p in projects]


async def create(session: AsyncSession, scope: Scope, name: str) -> Project:
    require_org(scope)
    scope.require("manage_projects")
    await require_organization_plan(session, scope)  # a lapsed organization keeps its projects, adds none
    name = _clean_name(name)
    await _refuse_taken(session, scope, name)
    row = Project(workspace_id=scope.workspace_id, name=name, created_at=utcnow())
    try:  # a concurrent create of the same name passes the check above: the unique index decides
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise ProjectError(f"there is already a project named {name!r}") from None
    await _record(session, scope, "project.created", row.id, after={"name": name})
    return row


async def rename(session: AsyncSession, scope: Scope, project_id: int, name: str) -> Project:
    require_org(scope)
    row = await get(session, scope, project_id)
    scope.require("manage_projects")
    name = _clean_name(name)
    await _refuse_taken(session, scope, name, renaming=row.id)
    if name != row.name:
        await _record(session, scope, "project.renamed", row.id, before={"name": row.name}, after={"name": name})
        row.name = name
    return row


async def delete(session: AsyncSession, scope: Scope, project_id: int) -> None:
    """Refused while an instance of it is not deleted (its costs would lose their project while it
    runs). Its keys, templates, past instances and costs stay in the organization, unassigned."""
    require_org(scope)
    row = await get(session, scope, project_id)
    scope.require("manage_projects")
    alive = (await session.execute(select(func.count()).select_from(Instance).where(
        Instance.project_id == row.id, Instance.status.not_in(_GONE)))).scalar_one()
    if alive:
        raise ProjectError(f"delete its {alive} instance(s) first, or move them to another project: "
                           f"a project with instances that are not deleted cannot be deleted")
    await _record(session, scope, "project.deleted", row.id, before={"name": row.name})
    await session.delete(row)  # project_id on its objects becomes NULL (ON DELETE SET NULL)


async def limitable_members(session: AsyncSession, scope: Scope) -> list[tuple[int, str, str, str]]:
    """(user id, name, e-mail, role) of the members a project can limit (not owners or admins)."""
    rows = (await session.execute(
        select(User.id, User.name, User.email, WorkspaceMember.role).join(WorkspaceMember, WorkspaceMember.user_id == User.id)
        .where(WorkspaceMember.workspace_id == scope.workspace_id,
               WorkspaceMember.role.not_in(sorted(roles.UNLIMITED_ROLES)))
        .order_by(User.email))).all()
    return [tuple(r) for r in rows]


async def set_members(session: AsyncSession, scope: Scope, project_id: int, user_ids: set[int]) -> None:
    """Exactly these members are limited to the project (and to their other projects, if any).
    Owners and admins are never limited, so they cannot be chosen."""
    require_org(scope)
    row = await get(session, scope, project_id)
    scope.require("manage_projects")
    allowed = {m[0] for m in await limitable_members(session, scope)}
    if user_ids - allowed:
        raise ProjectError("choose members of this organization who are not owners or admins")
    current = set((await session.execute(select(ProjectMember.user_id).where(
        ProjectMember.project_id == row.id))).scalars())
    if current == user_ids:
        return
    for user_id in user_ids - current:
        session.add(ProjectMember(project_id=row.id, user_id=user_id, created_at=utcnow()))
    for member in (await session.execute(select(ProjectMember).where(
            ProjectMember.project_id == row.id, ProjectMember.user_id.in_(sorted(current - user_ids))))).scalars():
        await session.delete(member)
    await _record(session, scope, "project.members_changed", row.id,
                  before={"members": sorted(current)}, after={"members": sorted(user_ids)})


async def assignable(session: AsyncSession, scope: Scope, project_id: int | None) -> int | None:
    """The project an object may be put in by this scope: one of the workspace's (another
    workspace's id is a 404, never silently taken), one of theirs for a limited member, who must
    choose one (an unassigned object would vanish from their own view)."""
    if project_id is None:
        if scope.project_ids is None:
            return None
        if len(scope.project_ids) == 1:  # nothing to choose
            return next(iter(scope.project_ids))
        raise ProjectError("choose one of your projects")
    return (await get(session, scope, project_id)).id


def parse_project_id(raw: object) -> int | None:
    """A form's or query's project field: empty means none; anything but a row id is a 400."""
    return parse_row_id(None if raw is None else str(raw), "project_id")
