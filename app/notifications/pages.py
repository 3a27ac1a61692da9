"""``/settings/notifications`` (login required): what to be told and where, the Telegram link,
price alerts and the monthly budget.

Notifications are a Pro feature: a Basic account sees the page with those controls locked and an
upgrade link, and a form posted anyway is refused with ``FeatureLocked``. Price alerts work on
every plan, within the plan's quota (Basic keeps one).
"""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.entitlements import QuotaExhausted, ensure_feature
from app.console.errors import NotFoundForUser
from app.console.pages.common import CONSOLE_DEPENDENCIES, CONSOLE_GUARDS, Form, form_list, form_text, page
from app.db.models import User
from app.db.types import utcnow
from app.notifications import alerts, budgets, linking
from app.notifications.events import CHANNELS, EVENT_TYPES, NOTIFICATIONS_FEATURE
from app.notifications.outbox import set_preference
from app.notifications.settings_view import gpu_groups, settings_view

PATH = "/settings/notifications"
DONE_MESSAGES = {
    "saved": "Saved: you will be told about what is switched on.",
    "alert-added": "Price alert added. You get one message each time the price drops to it or under.",
    "alert-added-under": ("Price alert added. The cheapest matching price is already at or under it, so there is "
                          "no message for that: you hear when it has gone back above and drops again."),
    "alert-removed": "Price alert removed.",
    "budget-saved": "Monthly budget saved.",
    "budget-removed": "Monthly budget removed: no more cost warnings.",
    "unlinked": "Telegram unlinked: nothing more is sent to that chat.",
}


async def _page(request: Request, db: AsyncSession, user: User, *, status: int = 200, notice: str | None = None,
                error: str | None = None, new_link_token: str | None = None, alert_form: dict | None = None,
                budget_form: str | None = None) -> Template:
    view = await settings_view(db, user, request.app.state.settings, utcnow(), new_link_token=new_link_token)
    view.alert_form = alert_form or {}
    view.budget_form = budget_form
    return page("notifications/settings.html", status, user=user, view=view, gpu_groups=gpu_groups(),
                providers=alerts.known_providers(), notice=notice, error=error)


async def _require_pro(request: Request, db: AsyncSession, user: User) -> None:
    await ensure_feature(db, user.id, NOTIFICATIONS_FEATURE, request.app.state.settings.billing.grace_days)


class NotificationSettingsController(Controller):
    path = PATH
    guards = CONSOLE_GUARDS
    dependencies = CONSOLE_DEPENDENCIES

    @get("/", name="notification-settings", permission="login")
    async def index(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], done: str | None = None) -> Template:
        return await _page(request, db, user, notice=DONE_MESSAGES.get(done or ""))

    @post("/preferences", permission="login")
    async def save_preferences(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], data: Form) -> Redirect:
        await _require_pro(request, db, user)
        on = set(form_list(data, "pref"))
        # Without a bot token the Telegram switches are shown off and disabled: nothing posted for
        # them is stored, so they keep what the user chose for when Telegram is set up.
        channels = [c for c in CHANNELS if c != "telegram" or request.app.state.settings.telegram.enabled]
        for event_type in EVENT_TYPES:
            for channel in channels:
                await set_preference(db, user.id, event_type, channel, f"{event_type}:{channel}" in on)
        await db.commit()
        return Redirect(f"{PATH}?done=saved")

    @post("/telegram/link", permission="login")
    async def create_link(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User]) -> Template:
        await _require_pro(request, db, user)
        if not request.app.state.settings.telegram.enabled:
            return await _page(request, db, user, status=400, error="Telegram is not set up on this server.")
        token = await linking.create_link_token(db, user.id)
        await db.commit()
        # Shown once, in this answer: only its hash is stored.
        return await _page(request, db, user, new_link_token=token)

    @post("/telegram/unlink", permission="login")
    async def unlink(self, db: NamedDependency[AsyncSession], user: NamedDependency[User]) -> Redirect:
        await linking.unlink(db, user.id)
        await db.commit()
        return Redirect(f"{PATH}?done=unlinked")

    @post("/alerts", permission="login")
    async def add_alert(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], data: Form) -> Template | Redirect:
        typed = {"gpu": form_text(data, "gpu"), "max_price": form_text(data, "max_price"),
                 "providers": form_list(data, "provider"), "market": form_text(data, "market") or "any"}
        try:
            row = await alerts.create_alert(
                db, user_id=user.id, gpu=alerts.resolve_gpu(typed["gpu"]),
                max_price=alerts.parse_max_price(typed["max_price"]),
                providers=alerts.parse_providers(typed["providers"]), spot=alerts.parse_market(typed["market"]),
                grace_days=request.app.state.settings.billing.grace_days)
            await db.commit()
        except alerts.AlertError as exc:
            await _undo(db, user)
            return await _page(request, db, user, status=400, error=f"Not added: {exc}.", alert_form=typed)
        except QuotaExhausted as exc:  # the plan's limit, with the upgrade path
            await _undo(db, user)
            return await _page(request, db, user, status=403, error=exc.detail, alert_form=typed)
        return Redirect(f"{PATH}?done={'alert-added-under' if row.below else 'alert-added'}#price-alerts")

    @post("/alerts/{alert_id:int}/delete", permission="login")
    async def delete_alert(self, db: NamedDependency[AsyncSession], user: NamedDependency[User], alert_id: int) -> Redirect:
        if not await alerts.delete_alert(db, alert_id, user_id=user.id):
            raise NotFoundForUser("no such price alert")
        await db.commit()
        return Redirect(f"{PATH}?done=alert-removed#price-alerts")

    @post("/budget", permission="login")
    async def save_budget(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User], data: Form) -> Template | Redirect:
        await _require_pro(request, db, user)
        raw = form_text(data, "monthly_budget")
        try:
            amount = budgets.parse_budget(raw)
            grace = budgets.parse_grace(form_text(data, "grace_minutes"))
        except budgets.BudgetError as exc:
            return await _page(request, db, user, status=400, error=f"Not saved: {exc}.", budget_form=raw)
        await budgets.set_budget(db, user.id, amount, hard_limit=form_text(data, "hard_limit") == "on",
                                 grace_minutes=grace)
        await db.commit()
        return Redirect(f"{PATH}?done={'budget-saved' if amount is not None else 'budget-removed'}#budget")


async def _undo(db: AsyncSession, user: User) -> None:
    """Roll back, and reload the user the rollback expired (the page still needs it)."""
    await db.rollback()
    await db.refresh(user)
