"""``/api/v1/console/budgets`` and ``/quotas``: the workspace's monthly budget (show, set, remove)
and its quotas (show, set), in the workspace the ``X-ComputeHub-Workspace`` header names (default:
personal). Reading needs ``view_costs``; setting the budget ``manage_budgets``, the quotas
``manage_quotas`` (``app/workspaces/roles.py``); another workspace's id is a 404. The personal
budget stays a plan feature (Pro), as on the notification settings page.

``?project=ID`` (every route): the same for one of the organization's projects, its own budget and
quotas, checked in addition to the workspace's; another workspace's project (or one a limited
member is not in) is a 404."""

from __future__ import annotations

from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ValidationException
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.console import quotas
from app.console.api.auth import api_access, provide_api_scope, provide_api_user, require_feature_for
from app.console.api.schemas import BudgetIn, BudgetOut, QuotasIn, QuotasOut, money
from app.console.errors import NotFoundForUser
from app.db.models import User
from app.db.types import utcnow
from app.notifications import budgets
from app.notifications.budget_view import budget_state, gpus_text
from app.notifications.events import NOTIFICATIONS_FEATURE
from app.services.inputs import DB_ID_MAX
from app.workspaces.scope import Scope

PROJECT = Parameter(query="project", ge=1, le=DB_ID_MAX, default=None,
                    description="one of the organization's projects (its id): its own budget or quotas")


def _bad(field: str, exc: Exception) -> ValidationException:
    return ValidationException(f"{field}: {exc}", extra=[{"key": field, "message": str(exc)}])


async def _budget_out(db: AsyncSession, workspace: Scope, project: int | None) -> BudgetOut:
    state = await budget_state(db, workspace, utcnow(), project)
    row = state.budget
    return BudgetOut("monthly", money(row.monthly_amount), state.spend.month, money(state.spend.spent),
                     hard_limit=row.hard_limit, grace_minutes=row.grace_minutes,
                     limit_in_force=state.enforcement is not None, workspace_id=workspace.workspace_id,
                     thresholds=list(state.thresholds), warned=state.warned, project_id=project)


async def _quotas_out(db: AsyncSession, workspace: Scope, project: int | None) -> QuotasOut:
    state = await budget_state(db, workspace, utcnow(), project)
    return QuotasOut(workspace.workspace_id, state.limits.max_running_instances, state.limits.max_gpus,
                     money(state.limits.max_hourly_spend), state.usage.running, gpus_text(state.usage.gpus),
                     money(state.usage.hourly), state.can_set_quotas, project_id=project)


class ConsoleBudgetsApiController(Controller):
    path = "/api/v1/console"
    dependencies = {"api_user": Provide(provide_api_user), "workspace": Provide(provide_api_scope)}
    guards = [api_access]  # the token, then the declared permission in the named workspace
    tags = ["console"]
    security = [{"apiToken": []}]

    async def _plan_check(self, request: Request, db: AsyncSession, user: User, workspace: Scope) -> None:
        workspace.require("manage_budgets")  # 403 for the role first, whatever the plan
        await require_feature_for(request, db, workspace, NOTIFICATIONS_FEATURE)

    @get("/budgets", permission="view_costs", operation_id="listBudgets",
         summary="The workspace's (or with ?project=ID the project's) monthly budget (an empty list: none)")
    async def list_budgets(self, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                           workspace: NamedDependency[Scope], project: int | None = PROJECT) -> list[BudgetOut]:
        workspace.require("view_costs")
        if await budgets.get_budget(db, await budgets.target_of(db, workspace, project)) is None:
            return []
        return [await _budget_out(db, workspace, project)]

    @post("/budgets", permission="manage_budgets", operation_id="setBudget", status_code=201,
          summary="Set the workspace's (or with ?project=ID the project's) monthly budget (warnings at 75, 90 and "
                  "95 %); replaces the one it has")
    async def set_budget(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                         workspace: NamedDependency[Scope], data: BudgetIn, project: int | None = PROJECT) -> BudgetOut:
        await budgets.target_of(db, workspace, project)  # another workspace's project: 404 first
        await self._plan_check(request, db, api_user, workspace)
        try:
            amount = budgets.parse_budget(data.monthly_amount)
        except budgets.BudgetError as exc:
            raise _bad("monthly_amount", exc) from None
        if amount is None:
            raise _bad("monthly_amount", ValueError("enter the monthly budget in dollars, e.g. 500"))
        await budgets.set_budget(db, workspace, amount, hard_limit=data.hard_limit, grace_minutes=data.grace_minutes,
                                 project_id=project)
        await db.commit()
        return await _budget_out(db, workspace, project)

    @delete("/budgets/{budget_id:str}", permission="manage_budgets", operation_id="deleteBudget",
            summary="Remove the monthly budget (with ?project=ID the project's): no more warnings")
    async def delete_budget(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                            workspace: NamedDependency[Scope], budget_id: str, project: int | None = PROJECT) -> None:
        target = await budgets.target_of(db, workspace, project)
        if budget_id != "monthly" or await budgets.get_budget(db, target) is None:
            raise NotFoundForUser("no such budget")
        await self._plan_check(request, db, api_user, workspace)
        await budgets.set_budget(db, workspace, None, project_id=project)
        await db.commit()

    @get("/quotas", permission="view", operation_id="getQuotas",
         summary="The workspace's (or with ?project=ID the project's) quotas and what counts against them now")
    async def get_quotas(self, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                         workspace: NamedDependency[Scope], project: int | None = PROJECT) -> QuotasOut:
        return await _quotas_out(db, workspace, project)

    @put("/quotas", permission="manage_quotas", operation_id="setQuotas",
         summary="Set the workspace's (or with ?project=ID the project's) quotas (running instances, GPUs, "
                 "$ per hour; null: no limit)")
    async def set_quotas(self, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                         workspace: NamedDependency[Scope], data: QuotasIn, project: int | None = PROJECT) -> QuotasOut:
        await budgets.target_of(db, workspace, project)  # another workspace's project: 404 first
        workspace.require("manage_quotas")
        try:
            hourly = quotas.parse_hourly(data.max_hourly_spend)
        except quotas.QuotaError as exc:
            raise _bad("max_hourly_spend", exc) from None
        await quotas.set_limits(db, workspace, quotas.Limits(data.max_running_instances, data.max_gpus, hourly), project)
        await db.commit()
        return await _quotas_out(db, workspace, project)
