"""Who the cost pages split an organization's costs by: its members (whoever launched an instance;
the organization pays). The choices are the current members plus anyone who launched one of its
instances and has left since (their costs stay, labelled as a former member).

Every role that may see costs (``view_costs``) sees the split: the same roles read the members
page, so it names nobody they could not already see. A member limited to projects still sees only
their projects' costs (``Scope.project_ids``): the member filter narrows, it never widens."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Instance, User, WorkspaceMember
from app.services.prices import InvalidQuery
from app.workspaces.scope import Scope

FORMER = " (former member)"


async def member_names(session: AsyncSession, scope: Scope) -> dict[int, str]:
    """user id -> label, for the workspace's members and former members with instances, by label.
    Labels are unique: a name two people share gets their e-mail addresses."""
    current = set((await session.execute(select(WorkspaceMember.user_id).where(
        WorkspaceMember.workspace_id == scope.workspace_id))).scalars())
    launched = set((await session.execute(select(Instance.user_id).where(
        Instance.workspace_id == scope.workspace_id).distinct())).scalars())
    ids = sorted(current | launched)
    if not ids:
        return {}
    rows = (await session.execute(select(User.id, User.name, User.email).where(User.id.in_(ids)))).all()
    names = [(uid, (name or "").strip() or email, email) for uid, name, email in rows]
    shared = {label for label in (n for _, n, _ in names) if sum(1 for _, other, _ in names if other == label) > 1}
    labels = {uid: (f"{label} ({email})" if label in shared else label) + ("" if uid in current else FORMER)
              for uid, label, email in names}
    return dict(sorted(labels.items(), key=lambda item: (item[1].lower(), item[0])))


def check_member(names: dict[int, str], member: int | None) -> int | None:
    """The member filter: one of ``names`` (anyone else, another workspace's user too, is a 400)."""
    if member is not None and member not in names:
        raise InvalidQuery("member: choose a member of this workspace from the list", "member")
    return member
