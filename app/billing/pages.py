"""``/settings/subscription`` (the account's plan), ``POST /webhooks/stripe`` and ``/admin/billing``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.session import requires_admin
from app.billing import webhooks
from app.billing.admin_stats import billing_stats
from app.billing.client import BillingError, billing_client
from app.billing.entitlements import FEATURE_LABELS
from app.billing.service import Outcome, Quote, SubscriptionService, new_intent
from app.console.pages.common import CONSOLE_DEPENDENCIES, CONSOLE_GUARDS, Form, form_text, page
from app.db.models import User

CONFIRMED = "yes"
"""The value of the ``confirm`` field of the second step of a paid change."""

DONE = {
    "trial": "Your 7-day Pro trial has started: every Pro feature is open now.",
    "subscribed": "Subscribed: your new plan is in force now.",
    "switched": "Plan changed. Stripe prorates the difference on your next invoice.",
    "canceled": "Canceled: your plan stays in force until the end of the period, then the account moves to Basic.",
    "resumed": "Resumed: your plan renews as before.",
    "downgrade-scheduled": "Downgrade scheduled: your plan stays in force until the end of the period already "
                           "paid for, then the account moves to Basic.",
    "downgraded": "You are on Basic now: paid features are closed.",
}
LOCAL_DONE = {
    **DONE,
    "switched": "Plan changed: the new plan is in force now. Local billing mode: nothing is charged.",
}
RETURNS = {
    ("checkout", "success"): "Payment received. Your plan changes as soon as Stripe confirms it (a few seconds): "
                             "reload this page if it has not yet.",
    ("checkout", "canceled"): "Checkout canceled: nothing was charged.",
    ("portal", "returned"): "Back from the payment settings.",
}


@asynccontextmanager
async def subscription_service(request: Request) -> AsyncIterator[SubscriptionService]:
    """A billing client for this request only (Stripe calls are rare: no pool to keep)."""
    settings = request.app.state.settings
    client = billing_client(settings)
    try:
        yield SubscriptionService(request.app.state.sessions, settings, client)
    finally:
        await client.close()


def _notice(mode: str, done: str | None, checkout: str | None, portal: str | None) -> str | None:
    notices = LOCAL_DONE if mode == "local" else DONE
    if done in notices:
        return notices[done]
    return RETURNS.get(("checkout", checkout or "")) or RETURNS.get(("portal", portal or ""))


class SubscriptionController(Controller):
    path = "/settings/subscription"
    guards = CONSOLE_GUARDS
    dependencies = CONSOLE_DEPENDENCIES

    async def _page(self, request: Request, user: NamedDependency[User], *, notice: str | None = None, error: str | None = None,
                    status: int = 200, quote: Quote | None = None,
                    returned: tuple[str | None, str | None, str | None] | None = None) -> Template:
        async with subscription_service(request) as service:
            view = await service.overview(user.id)
        if returned is not None:  # done / checkout / portal from the query: the notice depends on the mode
            notice = _notice(view.mode, *returned)
        return page("billing/subscription.html", status, view=view, notice=notice, error=error, intent=new_intent(),
                    feature_labels=FEATURE_LABELS, quote=quote)

    async def _paid_change(self, request: Request, user: NamedDependency[User], data: Form, action: str,
                           change) -> Template | Redirect:
        """A paid change takes two steps: the first shows what it costs per month, the confirmed
        second one makes it. A form without ``confirm`` never changes the plan."""
        plan = form_text(data, "plan")
        if form_text(data, "confirm") == CONFIRMED:
            return await self._act(request, user, lambda s: change(s, plan))
        try:
            async with subscription_service(request) as service:
                quote = await service.quote(user, action, plan, form_text(data, "intent"))
        except BillingError as exc:
            return await self._page(request, user, error=str(exc), status=400)
        return await self._page(request, user, quote=quote)

    async def _act(self, request: Request, user: NamedDependency[User], action) -> Template | Redirect:
        try:
            async with subscription_service(request) as service:
                outcome: Outcome = await action(service)
        except BillingError as exc:
            return await self._page(request, user, error=str(exc), status=400)
        return Redirect(outcome.redirect, status_code=303)

    @get("/", name="subscription", permission="login")
    async def index(self, request: Request, user: NamedDependency[User], done: str | None = None, checkout: str | None = None,
                    portal: str | None = None) -> Template:
        return await self._page(request, user, returned=(done, checkout, portal))

    @post("/trial", permission="login")
    async def trial(self, request: Request, user: NamedDependency[User], data: Form) -> Template | Redirect:
        return await self._act(request, user, lambda s: s.subscribe(user, "pro", trial=True,
                                                                   intent=form_text(data, "intent")))

    @post("/subscribe", permission="login")
    async def subscribe(self, request: Request, user: NamedDependency[User], data: Form) -> Template | Redirect:
        return await self._paid_change(request, user, data, "subscribe",
                                       lambda s, plan: s.subscribe(user, plan, intent=form_text(data, "intent")))

    @post("/switch", permission="login")
    async def switch(self, request: Request, user: NamedDependency[User], data: Form) -> Template | Redirect:
        return await self._paid_change(request, user, data, "switch",
                                       lambda s, plan: s.switch_plan(user, plan, form_text(data, "intent")))

    @post("/downgrade", permission="login")
    async def downgrade(self, request: Request, user: NamedDependency[User], data: Form) -> Template | Redirect:
        return await self._act(request, user, lambda s: s.downgrade(user, form_text(data, "intent")))

    @post("/cancel", permission="login")
    async def cancel(self, request: Request, user: NamedDependency[User], data: Form) -> Template | Redirect:
        return await self._act(request, user, lambda s: s.set_cancel(user, True, form_text(data, "intent")))

    @post("/resume", permission="login")
    async def resume(self, request: Request, user: NamedDependency[User], data: Form) -> Template | Redirect:
        return await self._act(request, user, lambda s: s.set_cancel(user, False, form_text(data, "intent")))

    @post("/payment-methods", permission="login")
    async def payment_methods(self, request: Request, user: NamedDependency[User], data: Form) -> Template | Redirect:
        return await self._act(request, user, lambda s: s.payment_portal(user, form_text(data, "intent")))


@post("/webhooks/stripe", permission="public", include_in_schema=False, status_code=200)
async def stripe_webhook(request: Request) -> Response:
    """Stripe's deliveries. The raw body is what was signed: it is verified before it is parsed."""
    raw = await request.body()
    try:
        outcome = await webhooks.process(request.app.state.sessions, request.app.state.settings, raw,
                                         request.headers.get("stripe-signature"))
    except webhooks.Refused as exc:  # a bad signature or a malformed event: nothing changed
        return Response({"error": str(exc)}, status_code=400)
    return Response({"received": True, "outcome": outcome}, status_code=200)


class AdminBillingController(Controller):
    path = "/admin/billing"
    guards = [requires_admin]

    @get("/", name="admin-billing", permission="site_admin")
    async def index(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        stats = await billing_stats(db, request.app.state.settings.billing.grace_days)
        return page("billing/admin.html", stats=stats)
