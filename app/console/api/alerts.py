"""``/api/v1/console/alerts``: price alerts (list, add, remove), through the services the
notification settings page uses, with its plan quota. The budget is in ``budgets.py``."""

from __future__ import annotations

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ValidationException
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.api.auth import api_access, provide_api_user
from app.console.api.routes import ID
from app.console.api.schemas import AlertIn, AlertOut
from app.console.errors import NotFoundForUser
from app.db.models import User
from app.notifications import alerts


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
