"""What the Budget page and ``/api/v1/console/budgets`` show for a workspace: its budget, this
month's spending against it, the thresholds already told, the hard limit's state, and the
workspace's quotas with what counts against them now; or the same for one of an organization's
projects (``project_id``: another workspace's is a 404), and each project's spending this month.
Anyone who may see costs may read it (a member limited to projects: only theirs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.console import quotas
from app.db.models import Budget, BudgetEnforcement, Project, ProjectBudget, ProjectBudgetEnforcement, Workspace
from app.notifications import budgets
from app.notifications.budget_targets import Target
from app.workspaces import projects
from app.workspaces.scope import Scope


def _share(spent: Decimal, budget: Budget | ProjectBudget | None) -> int | None:
    """Spending in % of the budget (rounded down)."""
    return None if budget is None else int(spent * 100 / budget.monthly_amount)


def _state(budget: Budget | ProjectBudget | None, enforcement) -> str:
    """off | watching (under 100 %) | noticed (grace period) | stopped"""
    if budget is None or not budget.hard_limit:
        return "off"
    if enforcement is None:
        return "watching"
    return "stopped" if enforcement.stopped_at else "noticed"


@dataclass(frozen=True)
class ProjectSpend:
    """One project's line in the Budget page's per-project table."""
    id: int
    name: str
    spent: Decimal
    budget: ProjectBudget | None
    hard_limit_state: str

    @property
    def share(self) -> int | None:
        return _share(self.spent, self.budget)


@dataclass(frozen=True)
class BudgetState:
    scope: Scope
    workspace_name: str
    budget: Budget | ProjectBudget | None
    spend: budgets.MonthSpend
    warned: list[int]
    enforcement: BudgetEnforcement | ProjectBudgetEnforcement | None
    limits: quotas.Limits
    usage: quotas.Usage
    project: Project | None = None
    """The project this state is about (None: the workspace)."""
    projects: list[ProjectSpend] = field(default_factory=list)
    """The organization's projects the scope may see, with this month's spending."""
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
        return _share(self.spend.spent, self.budget)

    @property
    def hard_limit_state(self) -> str:
        """off | watching (under 100 %) | noticed (grace period) | stopped"""
        return _state(self.budget, self.enforcement)

    def amount_input(self) -> str:
        return f"{self.budget.monthly_amount.normalize():f}" if self.budget else ""

    def hourly_input(self) -> str:
        value = self.limits.max_hourly_spend
        return "" if value is None else f"{value.normalize():f}"


async def project_spending(session: AsyncSession, scope: Scope, now: datetime) -> list[ProjectSpend]:
    """Each project the scope may see: this month's spending, its budget and its hard limit's state."""
    lines = []
    for view in await projects.list_projects(session, scope):
        target = Target(scope.workspace_id, view.id)
        spend = await budgets.month_spend(session, target, now)
        budget = await target.budget(session)
        lines.append(ProjectSpend(view.id, view.name, spend.spent, budget,
                                  _state(budget, await target.enforcement(session, spend.month))))
    return lines


async def budget_state(session: AsyncSession, scope: Scope, now: datetime, project_id: int | None = None) -> BudgetState:
    scope.require("view_costs")
    target = await budgets.target_of(session, scope, project_id)  # another workspace's project: 404
    workspace = await session.get(Workspace, scope.workspace_id)
    spend = await budgets.month_spend(session, target, now)
    return BudgetState(
        scope=scope, workspace_name=workspace.name if workspace else "", budget=await target.budget(session),
        spend=spend, warned=await target.warned(session, spend.month),
        enforcement=await target.enforcement(session, spend.month),
        limits=await quotas.limits_of(session, scope.workspace_id, target.project_id),
        usage=await quotas.usage(session, scope.workspace_id, target.project_id),
        project=await session.get(Project, target.project_id) if target.is_project else None,
        projects=await project_spending(session, scope, now))


def gpus_text(value: Decimal) -> str:
    return f"{value.normalize():f}"
