"""The month a workspace's budget counts in: a personal workspace's is its user's local month (like
the cost pages); an organization's is the UTC month (its members live in different time zones, and
the month must not move when the organization changes hands)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import User, Workspace

UTC = ZoneInfo("UTC")


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


async def budget_zone(session: AsyncSession, workspace_id: int) -> ZoneInfo:
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None or workspace.personal_user_id is None:
        return UTC
    user = await session.get(User, workspace.personal_user_id)
    return _zone(user.timezone if user else None)


async def budget_month(session: AsyncSession, workspace_id: int, now: datetime) -> str:
    """``YYYY-MM`` of the workspace's budget month at ``now``."""
    return now.astimezone(await budget_zone(session, workspace_id)).strftime("%Y-%m")
