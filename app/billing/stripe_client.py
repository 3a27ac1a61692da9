"""Stripe through its official SDK: Checkout, the Customer Portal, plan changes and cancellation.

Every call is async over httpx (``stripe.HTTPXClient``), made with no database transaction open,
and every POST carries an idempotency key, so a double-clicked button or a retried request
creates one Checkout Session or one plan change, not two.
"""

from __future__ import annotations

import logging
from typing import Any

import stripe

from app.billing.client import (
    BillingClient,
    BillingError,
    CheckoutRequest,
    CheckoutStarted,
    SubscriptionState,
)
from app.billing.stripe_objects import subscription_item_id, subscription_state
from app.settings import BillingSettings

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 20


def _plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict(recursive=True) if hasattr(obj, "to_dict") else dict(obj)


class StripeBillingClient(BillingClient):
    mode = "stripe"

    def __init__(self, settings: BillingSettings, max_network_retries: int = 2) -> None:
        if not settings.stripe_secret_key:
            raise ValueError("COMPUTEHUB_STRIPE_SECRET_KEY is required when COMPUTEHUB_BILLING_MODE=stripe")
        self._http = stripe.HTTPXClient(timeout=TIMEOUT_SECONDS)
        # Retries are safe: each POST carries our idempotency key.
        self._stripe = stripe.StripeClient(settings.stripe_secret_key, http_client=self._http,
                                           max_network_retries=max_network_retries)

    async def _call(self, what: str, request):
        try:
            return _plain(await request)
        except stripe.StripeError as exc:
            # Stripe's message may name the customer or the request; log it, show a generic one.
            log.warning("stripe %s failed: %s (%s)", what, type(exc).__name__, getattr(exc, "code", None))
            raise BillingError("The payment service did not accept the request; please try again in a minute.") from exc

    async def start_checkout(self, request: CheckoutRequest) -> CheckoutStarted:
        owner = {"user_id": str(request.user_id)}
        if request.workspace_id is not None:
            owner["workspace_id"] = str(request.workspace_id)
        params: dict[str, Any] = {
            "mode": "subscription",
            "line_items": [{"price": request.price_id, "quantity": 1}],
            "client_reference_id": str(request.user_id),
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            # Lets subscription events find the account (or the organization) even before
            # checkout.session.completed arrives.
            "subscription_data": {"metadata": dict(owner)},
            "metadata": {**owner, "plan": request.plan_code},
        }
        if request.customer_id:
            params["customer"] = request.customer_id
        else:
            # Stripe makes a new customer: an organization's first checkout never reuses the
            # paying member's personal customer, so each organization is a customer of its own.
            params["customer_email"] = request.email
        if request.trial_days:
            params["subscription_data"]["trial_period_days"] = request.trial_days
        session = await self._call("checkout", self._stripe.v1.checkout.sessions.create_async(
            params, {"idempotency_key": request.idempotency_key}))
        return CheckoutStarted(session["url"])

    async def portal_url(self, customer_id: str, return_url: str, idempotency_key: str) -> str:
        session = await self._call("portal", self._stripe.v1.billing_portal.sessions.create_async(
            {"customer": customer_id, "return_url": return_url}, {"idempotency_key": idempotency_key}))
        return session["url"]

    async def change_plan(self, current: SubscriptionState, plan_code: str, price_id: str,
                          idempotency_key: str) -> SubscriptionState:
        subscription_id = _require_id(current)
        # The item id is needed to replace the price instead of adding a second item.
        existing = await self._call("retrieve", self._stripe.v1.subscriptions.retrieve_async(subscription_id))
        item_id = subscription_item_id(existing)
        if item_id is None:
            raise BillingError("This subscription has no item to change; contact support.")
        updated = await self._call("plan change", self._stripe.v1.subscriptions.update_async(
            subscription_id,
            {"items": [{"id": item_id, "price": price_id}], "proration_behavior": "create_prorations"},
            {"idempotency_key": idempotency_key}))
        return subscription_state(updated, plan_code)

    async def set_cancel_at_period_end(self, current: SubscriptionState, cancel: bool,
                                       idempotency_key: str) -> SubscriptionState:
        updated = await self._call("cancel" if cancel else "resume", self._stripe.v1.subscriptions.update_async(
            _require_id(current), {"cancel_at_period_end": cancel}, {"idempotency_key": idempotency_key}))
        return subscription_state(updated, current.plan_code)

    async def close(self) -> None:
        await self._http.close_async()


def _require_id(current: SubscriptionState) -> str:
    if not current.subscription_id:
        raise BillingError("There is no Stripe subscription on this account.")
    return current.subscription_id
