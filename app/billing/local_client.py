"""Billing without Stripe (``COMPUTEHUB_BILLING_MODE=local``, the default of ``make run`` and tests):
an upgrade, a trial, a plan change or a cancellation completes at once and nothing is charged."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from app.billing.client import (
    BillingClient,
    BillingError,
    CheckoutCompleted,
    CheckoutRequest,
    SubscriptionState,
)
from app.db.types import utcnow


def one_month_later(moment: datetime) -> datetime:
    """The same day next month, clamped to the month's last day (Jan 31 -> Feb 28/29)."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


class LocalBillingClient(BillingClient):
    mode = "local"

    def __init__(self, now=utcnow) -> None:
        self._now = now

    async def start_checkout(self, request: CheckoutRequest) -> CheckoutCompleted:
        now = self._now()
        # Like Stripe, an organization is a customer of its own (never its paying member's).
        customer = request.customer_id or (f"cus_local_org_{request.workspace_id}"
                                           if request.workspace_id is not None else None)
        if request.trial_days:
            trial_end = now + timedelta(days=request.trial_days)
            return CheckoutCompleted(SubscriptionState(request.plan_code, "trialing", trial_end,
                                                       trial_end=trial_end, had_trial=True, customer_id=customer))
        return CheckoutCompleted(SubscriptionState(request.plan_code, "active", one_month_later(now),
                                                   customer_id=customer))

    async def portal_url(self, customer_id: str, return_url: str, idempotency_key: str) -> str:
        raise BillingError("Local billing mode has no payment methods to manage: nothing is charged.")

    async def change_plan(self, current: SubscriptionState, plan_code: str, price_id: str,
                          idempotency_key: str) -> SubscriptionState:
        return replace(current, plan_code=plan_code)

    async def set_cancel_at_period_end(self, current: SubscriptionState, cancel: bool,
                                       idempotency_key: str) -> SubscriptionState:
        return replace(current, cancel_at_period_end=cancel)
