"""``/api/v1/console/alerts`` and ``/budgets``: price alerts (list, add, remove) and the monthly
budget (show, set, remove), through the services the notification settings page uses, with its
plan quota (alerts) and plan check (the budget is a Pro feature)."""

from __future__ import annotations

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ValidationException
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.api.auth import api_access, provide_api_user, require_feature_for
from app.console.api.routes import ID
from app.console.api.schemas import AlertIn, AlertOut, BudgetIn, BudgetOut, money
from app.console.errors import NotFoundForUser
from app.db.models import Budget, User
from app.db.types import utcnow
from app.notifications import alerts, budgets
from app.notifications.events import NOTIFICATIONS_FEATURE


def _bad(field: str, exc: Exception) -> ValidationException:
    return ValidationException(f"{field}: {exc}", extra=[{"key": field, "message": str(exc)}])


class ConsoleAlertsApiController(Controller):
    path = "/api/v1/console"
    dependencies = {"api_user": Provide(provide_api_user)}
    guards = [api_access]  # the token, then the declared permission in the named workspace
    tags = ["console"]
    security = [{"apiToken": []}]

    @get("/alerts", permission="login", operation_id="listAlerts", summary="Your price alerts")
    async def list_alerts(self, db: NamedDependency[AsyncSession], api_user: NamedDependency[User]) -> list[AlertOut]:
        return [AlertOut.of(row, alerts.describe(row)) for row in await alerts.list_alerts(db, user_id=api_user.id)]

    @post("/alerts", permission="login", operation_id="createAlert", status_code=201,
          summary="Tell me when a GPU is at most this price per GPU-hour (counts against your plan's alerts)")
    async def create_alert(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                           data: AlertIn) -> AlertOut:
        try:
            row = await alerts.create_alert(
                db, user_id=api_user.id, gpu=alerts.resolve_gpu(data.gpu), max_price=alerts.parse_max_price(data.max_price),
                providers=alerts.parse_providers(data.providers), spot=alerts.parse_market(data.market),
                grace_days=request.app.state.settings.billing.grace_days)
        except alerts.AlertError as exc:
            raise _bad("alert", exc) from None
        out = AlertOut.of(row, alerts.describe(row))
        await db.commit()
        return out

    @delete("/alerts/{alert_id:int}", permission="login", operation_id="deleteAlert", summary="Remove a price alert")
    async def delete_alert(self, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                           alert_id: int = ID) -> None:
        if not await alerts.delete_alert(db, alert_id, user_id=api_user.id):
            raise NotFoundForUser("no such price alert")
        await db.commit()

    @get("/budgets", permission="login", operation_id="listBudgets", summary="Your monthly budget (an empty list: none)")
    async def list_budgets(self, db: NamedDependency[AsyncSession], api_user: NamedDependency[User]) -> list[BudgetOut]:
        if await budgets.get_budget(db, api_user.id) is None:
            return []
        return [await _budget_out(db, api_user)]

    @post("/budgets", permission="login", operation_id="setBudget", status_code=201,
          summary="Set the monthly budget (warnings at 75, 90 and 95 %); replaces the one you have")
    async def set_budget(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                         data: BudgetIn) -> BudgetOut:
        await require_feature_for(request, db, api_user, NOTIFICATIONS_FEATURE)
        try:
            amount = budgets.parse_budget(data.monthly_amount)
        except budgets.BudgetError as exc:
            raise _bad("monthly_amount", exc) from None
        if amount is None:
            raise _bad("monthly_amount", ValueError("enter the monthly budget in dollars, e.g. 500"))
        await budgets.set_budget(db, api_user.id, amount, hard_limit=data.hard_limit, grace_minutes=data.grace_minutes)
        await db.commit()
        return await _budget_out(db, api_user)

    @delete("/budgets/{budget_id:str}", permission="login", operation_id="deleteBudget", summary="Remove the monthly budget: no more warnings")
    async def delete_budget(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                            budget_id: str) -> None:
        if budget_id != "monthly" or await budgets.get_budget(db, api_user.id) is None:
            raise NotFoundForUser("no such budget")
        await require_feature_for(request, db, api_user, NOTIFICATIONS_FEATURE)
        await budgets.set_budget(db, api_user.id, None)
        await db.commit()


async def _budget_out(db: AsyncSession, user: User) -> BudgetOut:
    now = utcnow()
    row = await db.get(Budget, user.id)
    spend = await budgets.month_spend(db, user, now)
    return BudgetOut("monthly", money(row.monthly_amount), spend.month, money(spend.spent), hard_limit=row.hard_limit,
                     grace_minutes=row.grace_minutes, limit_in_force=await budgets.enforcement(db, user, now) is not None)
