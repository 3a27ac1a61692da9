"""Reading Stripe objects (plain dicts, as in webhook payloads and API answers) into our terms.

Stripe moved a subscription's billing period onto its items (API 2025-03-31) and an invoice's
subscription under ``parent.subscription_details``; both the older and the newer places are read.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from app.billing.client import SubscriptionState

# Stripe statuses onto ours. unpaid keeps the grace logic of past_due; an incomplete or paused
# subscription has not been paid for, so it grants nothing.
STATUS_MAP = {
    "trialing": "trialing", "active": "active", "past_due": "past_due", "unpaid": "past_due",
    "canceled": "canceled", "incomplete": "canceled", "incomplete_expired": "canceled", "paused": "canceled",
}
# Amounts are in the currency's smallest unit; these currencies have none below the unit.
ZERO_DECIMAL_CURRENCIES = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd",
                           "vuv", "xaf", "xof", "xpf"}


def from_timestamp(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=timezone.utc) if value else None


def _first_item(subscription: dict[str, Any]) -> dict[str, Any]:
    items = (subscription.get("items") or {}).get("data") or []
    return items[0] if items else {}


def subscription_item_id(subscription: dict[str, Any]) -> str | None:
    return _first_item(subscription).get("id")


def subscription_price_id(subscription: dict[str, Any]) -> str | None:
    return (_first_item(subscription).get("price") or {}).get("id")


def period_end(subscription: dict[str, Any]) -> datetime | None:
    return from_timestamp(subscription.get("current_period_end") or _first_item(subscription).get("current_period_end"))


def subscription_state(subscription: dict[str, Any], plan_code: str) -> SubscriptionState:
    """``plan_code`` comes from the price (see ``plans.plan_for_price``)."""
    trial_end = from_timestamp(subscription.get("trial_end"))
    ends = period_end(subscription)
    cancel_at = from_timestamp(subscription.get("cancel_at"))
    return SubscriptionState(
        plan_code=plan_code,
        status=STATUS_MAP.get(subscription.get("status") or "", "canceled"),
        current_period_end=ends,
        # The Customer Portal may cancel with cancel_at (at the period end) rather than the flag.
        cancel_at_period_end=bool(subscription.get("cancel_at_period_end")) or cancel_at is not None,
        trial_end=trial_end,
        had_trial=trial_end is not None or subscription.get("status") == "trialing",
        subscription_id=subscription.get("id"),
        customer_id=_id(subscription.get("customer")),
    )


def _id(value: Any) -> str | None:
    """An expandable field: an id string, or the object itself."""
    if isinstance(value, dict):
        return value.get("id")
    return value or None


def invoice_subscription_id(invoice: dict[str, Any]) -> str | None:
    details = ((invoice.get("parent") or {}).get("subscription_details") or {})
    return _id(details.get("subscription")) or _id(invoice.get("subscription"))


def invoice_customer_id(invoice: dict[str, Any]) -> str | None:
    return _id(invoice.get("customer"))


def to_amount(minor_units: int | None, currency: str) -> Decimal:
    units = Decimal(int(minor_units or 0))
    return units if currency.lower() in ZERO_DECIMAL_CURRENCIES else units / 100
