"""Which workspace a request acts in: the one chosen with the header switcher (its id kept in the
session), re-checked against the membership table on every request, else the personal one.

``provide_scope`` is the one dependency pages and the console API take (as ``scope``)."""

from __future__ import annotations

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import User, Workspace, WorkspaceMember
from app.workspaces.scope import NotAMember, Scope, membership, resolve

SESSION_WORKSPACE = "workspace_id"


async def scope_for(db: AsyncSession, user_id: int, chosen: object) -> Scope:
    """The chosen workspace if the user is still a member of it, else their personal one (a
    removed member lands back home instead of on an error)."""
    if chosen:
        try:
            return await membership(db, user_id, int(chosen))  # type: ignore[arg-type]
        except (NotAMember, ValueError):
            pass
    scope = await resolve(db, user_id)
    await db.commit()  # a personal workspace made on first use must exist for the other sessions
    return scope


async def provide_scope(request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User | None]) -> Scope:
    if user is None:
        raise NotAuthorizedException("log in to continue")
    user_id = user.id
    session = request.session if request.scope.get("session") is not None else {}
    return await scope_for(db, user_id, session.get(SESSION_WORKSPACE))


async def choose(request: Request, db: AsyncSession, user_id: int, workspace_id: int) -> Scope:
    """The switcher: only a workspace the user is in (else ``NotAMember``, a 404)."""
    scope = await membership(db, user_id, workspace_id)
    request.session[SESSION_WORKSPACE] = workspace_id
    return scope


async def workspaces_of(db: AsyncSession, user_id: int) -> list[tuple[int, str, str, str]]:
    """(id, name, kind, role) of every workspace the user is in, personal first."""
    rows = await db.execute(
        select(Workspace.id, Workspace.name, Workspace.kind, WorkspaceMember.role)
        .join(WorkspaceMember, WorkspaceMember.workspace_id == Workspace.id)
        .where(WorkspaceMember.user_id == user_id)
        .order_by(Workspace.kind.desc(), Workspace.name, Workspace.id))
    return [tuple(r) for r in rows]


async def load_workspaces(connection, _handler) -> None:
    """Console guard: the header switcher's choices on ``request.state.workspaces`` and the one in
    force on ``request.state.workspace_id`` (what ``provide_scope`` will pick, same rules)."""
    user_id = connection.session.get("uid")
    if not user_id:
        return
    async with connection.app.state.sessions() as db:
        choices = await workspaces_of(db, int(user_id))
        if not choices:  # a user from before sign-up made workspaces: made now
            await scope_for(db, int(user_id), None)
            choices = await workspaces_of(db, int(user_id))
    chosen = connection.session.get(SESSION_WORKSPACE)
    ids = {c[0] for c in choices}
    connection.state.workspaces = choices
    connection.state.workspace_id = chosen if chosen in ids else next((c[0] for c in choices if c[2] == "personal"), None)
