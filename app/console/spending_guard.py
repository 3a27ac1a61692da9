"""The launch and start check of a budget's hard limit: while this month's spending is at or over a
hard-limited budget (an open ``BudgetEnforcement`` row for the user's local month), nothing new may
start billing. The budget check (``app.notifications.hard_limit``) opens the row at 100 % and
removes it when the budget is raised above the spending, switched to soft, or removed; a new month
has no row. Read in the caller's transaction, so the check and the launch intent commit together."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.console.errors import ConsoleError
from app.db.models import BudgetEnforcement, User


class SpendingLimitReached(ConsoleError):
    """The month's spending has reached a hard-limited budget: refused until it is raised."""


def local_month(user: User, now: datetime) -> str:
    try:
        zone = ZoneInfo(user.timezone or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return now.astimezone(zone).strftime("%Y-%m")


async def ensure_spending_allowed(session: AsyncSession, user_id: int, now: datetime, action: str) -> None:
    user = await session.get(User, user_id)
    if user is None:
        return
    if await session.get(BudgetEnforcement, (user_id, local_month(user, now))) is not None:
        raise SpendingLimitReached(
            f"cannot {action}: this month's spending has reached your monthly budget, which has a hard limit. "
            "Raise the budget (or make it a soft one) in Settings → Notifications to launch or start again.")
