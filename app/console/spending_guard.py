"""The launch and start check of a budget's hard limit: while this month's spending is at or over a
workspace's hard-limited budget (an open ``BudgetEnforcement`` row for the workspace's budget
month), nothing new may start billing in that workspace. The budget check
(``app.notifications.hard_limit``) opens the row at 100 % and removes it when the budget is raised
above the spending, switched to soft, or removed; a new month has no row. Read in the caller's
transaction, so the check and the launch intent commit together.

An instance assigned to a project is also held back by the project's own hard-limited budget (an
open ``ProjectBudgetEnforcement`` for the organization's month): both must allow it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.console.errors import ConsoleError
from app.db.models import BudgetEnforcement, ProjectBudgetEnforcement
from app.workspaces.months import budget_month

BUDGET_PAGE = "/console/budget"


class SpendingLimitReached(ConsoleError):
    """The month's spending has reached a hard-limited budget: refused until it is raised."""

    status_code = 409


async def ensure_spending_allowed(session: AsyncSession, workspace_id: int, now: datetime, action: str,
                                  project_id: int | None = None) -> None:
    month = await budget_month(session, workspace_id, now)
    if await session.get(BudgetEnforcement, (workspace_id, month)) is not None:
        raise SpendingLimitReached(
            f"cannot {action}: this month's spending has reached this workspace's monthly budget, which has a "
            f"hard limit. Raise the budget (or make it a soft one) on the Budget page ({BUDGET_PAGE}) "
            "to launch or start again.")
    if project_id is not None and await session.get(ProjectBudgetEnforcement, (project_id, month)) is not None:
        raise SpendingLimitReached(
            f"cannot {action}: this month's spending has reached this project's monthly budget, which has a "
            f"hard limit. Raise the project's budget (or make it a soft one) on the Budget page "
            f"({BUDGET_PAGE}?project={project_id}) to launch or start in it again.")
