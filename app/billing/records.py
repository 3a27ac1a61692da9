"""Writes to the subscription and invoice tables; the callers own the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.billing.client import SubscriptionState
from app.billing.entitlements import BASIC, organization_subscription, personal_subscription
from app.db.models import Invoice, Subscription
from app.db.types import utcnow

LIVE_STATUSES = ("trialing", "active", "past_due")


async def subscription_of(session: AsyncSession, user_id: int, *, lock: bool = False) -> Subscription | None:
    """A person's own subscription (not the organizations' they are the billing contact of)."""
    query = personal_subscription(user_id)
    if lock:  # PostgreSQL: events for one account apply one after another
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def organization_subscription_of(session: AsyncSession, workspace_id: int, *,
                                       lock: bool = False) -> Subscription | None:
    query = organization_subscription(workspace_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def subscription_by_stripe_ids(session: AsyncSession, subscription_id: str | None,
                                     customer_id: str | None) -> Subscription | None:
    for column, value in ((Subscription.stripe_subscription_id, subscription_id),
                          (Subscription.stripe_customer_id, customer_id)):
        if value:
            row = (await session.execute(select(Subscription).where(column == value).with_for_update())).scalar_one_or_none()
            if row is not None:
                return row
    return None


def new_subscription(user_id: int, workspace_id: int | None = None) -> Subscription:
    """A row for an account (or, with ``workspace_id``, an organization whose billing contact is
    ``user_id``) that had none: Basic, nothing live yet."""
    return Subscription(user_id=user_id, workspace_id=workspace_id, plan_code=BASIC, status="canceled", cancel_at_period_end=False,
                        trial_used=False, updated_at=utcnow())


def state_of(row: Subscription | None) -> SubscriptionState | None:
    if row is None:
        return None
    return SubscriptionState(row.plan_code, row.status, row.current_period_end, row.cancel_at_period_end,
                             row.trial_end, row.trial_used, row.stripe_subscription_id, row.stripe_customer_id)


def apply_state(row: Subscription, state: SubscriptionState, *, at: datetime, stamp: int | None = None) -> None:
    """Write ``state`` onto ``row``. ``at`` is when it happened (starts the past_due grace period);
    ``stamp`` is the Stripe event's ``created``, so older events arriving later are ignored."""
    row.plan_code = state.plan_code
    row.status = state.status
    row.current_period_end = state.current_period_end
    row.cancel_at_period_end = state.cancel_at_period_end
    row.trial_end = state.trial_end
    row.trial_used = row.trial_used or state.had_trial
    if state.status == "past_due":
        row.past_due_since = row.past_due_since or at
    else:
        row.past_due_since = None
    if state.subscription_id:
        row.stripe_subscription_id = state.subscription_id
    if state.customer_id:
        row.stripe_customer_id = state.customer_id
    if stamp is not None:
        row.stripe_state_at = max(stamp, row.stripe_state_at or 0)
    row.updated_at = utcnow()


def _audited_fields(row: Subscription) -> dict:
    return {"plan": row.plan_code, "status": row.status, "current_period_end": row.current_period_end,
            "cancel_at_period_end": row.cancel_at_period_end, "trial_end": row.trial_end}


async def apply_state_audited(session: AsyncSession, row: Subscription, state: SubscriptionState, actor: audit.Actor,
                              *, at: datetime, stamp: int | None = None) -> None:
    """``apply_state``, with an audit event when what the customer sees changed (a repeated webhook records nothing)."""
    before = _audited_fields(row)
    apply_state(row, state, at=at, stamp=stamp)
    after = _audited_fields(row)
    if after != before:
        chain = f"org:{row.workspace_id}" if row.workspace_id is not None else audit.personal(row.user_id)
        await audit.record(session, chain, "subscription.changed", actor, target_type="subscription",
                           target_id=row.workspace_id if row.workspace_id is not None else row.user_id,
                           before=before, after=after)


@dataclass(frozen=True)
class InvoiceRecord:
    stripe_invoice_id: str
    amount: Decimal
    currency: str
    status: str
    """paid | payment_failed | open"""
    hosted_invoice_url: str | None
    created_at: datetime


async def record_invoice(session: AsyncSession, user_id: int, record: InvoiceRecord,
                         workspace_id: int | None = None) -> Invoice:
    """Insert or update by Stripe id. Paid is final: a late failure event does not undo it.
    ``workspace_id``: an organization's invoice (``user_id`` its billing contact)."""
    row = (await session.execute(select(Invoice).where(
        Invoice.stripe_invoice_id == record.stripe_invoice_id))).scalar_one_or_none()
    if row is None:
        row = Invoice(user_id=user_id, workspace_id=workspace_id, stripe_invoice_id=record.stripe_invoice_id, amount=record.amount,
                      currency=record.currency, status=record.status, hosted_invoice_url=record.hosted_invoice_url,
                      created_at=record.created_at)
        session.add(row)
    elif row.status != "paid":
        row.status, row.amount = record.status, record.amount
        row.hosted_invoice_url = record.hosted_invoice_url or row.hosted_invoice_url
    await session.flush()
    return row
