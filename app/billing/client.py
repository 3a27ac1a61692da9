"""The payment side of billing, behind one interface: Stripe in production, local for demos and tests.

The ``SubscriptionService`` talks to a ``BillingClient`` and writes the database; the client never
touches the database. ``billing_client(settings)`` picks the implementation from
``settings.billing.mode``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

from app.settings import Settings


class BillingError(Exception):
    """A payment call failed or is not possible; the message is safe to show to the user."""


@dataclass(frozen=True)
class SubscriptionState:
    """A subscription as the payment side reports it, in our terms (status mapped, times in UTC)."""

    plan_code: str
    status: str
    """trialing | active | past_due | canceled"""
    current_period_end: datetime | None
    cancel_at_period_end: bool = False
    trial_end: datetime | None = None
    had_trial: bool = False
    subscription_id: str | None = None
    customer_id: str | None = None


@dataclass(frozen=True)
class CheckoutRequest:
    user_id: int
    email: str
    plan_code: str
    price_id: str
    customer_id: str | None
    """Stripe customer of an earlier subscription: reused so payment methods and invoices stay together."""
    trial_days: int | None
    """Only for an account that never had a trial."""
    success_url: str
    cancel_url: str
    idempotency_key: str
    workspace_id: int | None = None
    """An organization's checkout (its own Stripe customer; ``user_id`` is the member paying):
    sent as ``metadata.workspace_id`` so the webhook writes the organization's row."""


@dataclass(frozen=True)
class CheckoutStarted:
    """The user continues on the payment page; the webhook tells us when it is paid."""

    url: str


@dataclass(frozen=True)
class CheckoutCompleted:
    """Done at once (local mode): the new state is applied right away."""

    state: SubscriptionState


class BillingClient(ABC):
    mode: str

    @abstractmethod
    async def start_checkout(self, request: CheckoutRequest) -> CheckoutStarted | CheckoutCompleted: ...

    @abstractmethod
    async def portal_url(self, customer_id: str, return_url: str, idempotency_key: str) -> str:
        """Where the user manages payment methods and cancels (Stripe's Customer Portal)."""

    @abstractmethod
    async def change_plan(self, current: SubscriptionState, plan_code: str, price_id: str,
                          idempotency_key: str) -> SubscriptionState:
        """Switch between paid tiers, prorated."""

    @abstractmethod
    async def set_cancel_at_period_end(self, current: SubscriptionState, cancel: bool,
                                       idempotency_key: str) -> SubscriptionState:
        """Cancel at the end of the paid period (``cancel=False`` resumes)."""

    async def close(self) -> None:
        return None


def billing_client(settings: Settings) -> BillingClient:
    mode = settings.billing.mode
    if mode == "local":
        from app.billing.local_client import LocalBillingClient

        return LocalBillingClient()
    if mode == "stripe":
        from app.billing.stripe_client import StripeBillingClient

        return StripeBillingClient(settings.billing)
    raise ValueError("COMPUTEHUB_BILLING_MODE must be local or stripe")
