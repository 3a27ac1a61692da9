"""What the Budget page and ``/api/v1/console/budgets`` show for a workspace: its budget, this
month's spending against it, the thresholds already told, the hard limit's state, and the
workspace's quotas with what counts against them now. Anyone who may see costs may read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.console import quotas
from app.db.models import Budget, BudgetAlert, BudgetEnforcement, Workspace
from app.notifications import budgets
from app.workspaces.scope import Scope


@dataclass(frozen=True)
class BudgetState:
    scope: Scope
    workspace_name: str
    budget: Budget | None
    spend: budgets.MonthSpend
    warned: list[int]
    enforcement: BudgetEnforcement | None
    limits: quotas.Limits
    usage: quotas.Usage
    thresholds: tuple[int, ...] = budgets.THRESHOLDS
    grace_choices: dict[int, str] = field(default_factory=lambda: budgets.GRACE_CHOICES)

    @property
    def can_set_budget(self) -> bool:
        return self.scope.allows("manage_budgets")

    @property
    def can_set_quotas(self) -> bool:
        return self.scope.allows("manage_quotas")

    @property
    def share(self) -> int | None:
        """This month's spending in % of the budget (rounded down)."""
        if self.budget is None:
            return None
        return int(self.spend.spent * 100 / self.budget.monthly_amount)

    @property
    def hard_limit_state(self) -> str:
        """off | watching (under 100 %) | noticed (grace period) | stopped"""
        if self.budget is None or not self.budget.hard_limit:
            return "off"
        if self.enforcement is None:
            return "watching"
        return "stopped" if self.enforcement.stopped_at else "noticed"

    def amount_input(self) -> str:
        return f"{self.budget.monthly_amount.normalize():f}" if self.budget else ""

    def hourly_input(self) -> str:
        value = self.limits.max_hourly_spend
        return "" if value is None else f"{value.normalize():f}"


async def budget_state(session: AsyncSession, scope: Scope, now: datetime) -> BudgetState:
    scope.require("view_costs")
    workspace = await session.get(Workspace, scope.workspace_id)
    spend = await budgets.month_spend(session, scope.workspace_id, now)
    warned = list((await session.execute(select(BudgetAlert.threshold).where(
        BudgetAlert.workspace_id == scope.workspace_id, BudgetAlert.month == spend.month)
        .order_by(BudgetAlert.threshold))).scalars())
    return BudgetState(
        scope=scope, workspace_name=workspace.name if workspace else "", budget=await session.get(Budget, scope.workspace_id),
        spend=spend, warned=warned, enforcement=await session.get(BudgetEnforcement, (scope.workspace_id, spend.month)),
        limits=await quotas.limits_of(session, scope.workspace_id), usage=await quotas.usage(session, scope.workspace_id))


def gpus_text(value: Decimal) -> str:
    return f"{value.normalize():f}"
