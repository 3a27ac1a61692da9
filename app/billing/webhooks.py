"""Stripe webhooks: verified, applied once, in any order.

- The signature is checked on the raw body (``stripe.Webhook.construct_event``) before anything else.
- The event id is inserted into ``stripe_events`` in the same transaction as its effects: a
  replay finds the id and changes nothing; a failure rolls both back and Stripe retries.
- Stripe does not promise order. Each subscription change is stamped with its event's
  ``created``; an older event arriving later (an ``active`` after a newer ``canceled``) is ignored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import stripe
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.billing.limits import apply_plan_limits
from app.billing.plans import all_plans, plan_for_price
from app.billing.records import (
    LIVE_STATUSES,
    InvoiceRecord,
    apply_state,
    new_subscription,
    record_invoice,
    subscription_by_stripe_ids,
    subscription_of,
)
from app.billing.stripe_objects import (
    from_timestamp,
    invoice_customer_id,
    invoice_subscription_id,
    subscription_price_id,
    subscription_state,
    to_amount,
)
from app.db.models import StripeEvent, Subscription, User
from app.db.types import utcnow
from app.settings import Settings

log = logging.getLogger(__name__)


class BadSignature(Exception):
    """Not from Stripe (or not for this endpoint): answered with 400."""


def verify(raw: bytes, signature: str | None, secret: str) -> dict[str, Any]:
    """The event, if ``raw`` was signed with ``secret``; the body is parsed only after the check."""
    if not secret:
        raise BadSignature("Stripe webhooks are not configured (COMPUTEHUB_STRIPE_WEBHOOK_SECRET)")
    try:
        stripe.Webhook.construct_event(raw, signature or "", secret)
    except stripe.SignatureVerificationError:
        raise BadSignature("invalid Stripe-Signature") from None
    except ValueError:  # not JSON
        raise BadSignature("invalid payload") from None
    return json.loads(raw)


@dataclass(frozen=True)
class Context:
    settings: Settings
    event: dict[str, Any]

    @property
    def created(self) -> int:
        return int(self.event["created"])

    @property
    def type(self) -> str:
        return self.event["type"]

    @property
    def object(self) -> dict[str, Any]:
        return self.event["data"]["object"]


async def process(sessions: async_sessionmaker[AsyncSession], settings: Settings, raw: bytes,
                  signature: str | None) -> str:
    """Verify and apply one delivery; returns what happened (for the log and the response)."""
    event = verify(raw, signature, settings.billing.stripe_webhook_secret)
    ctx = Context(settings, event)
    async with sessions() as session, session.begin():
        if not await _first_delivery(session, ctx):
            return "duplicate"
        handler = HANDLERS.get(ctx.type)
        outcome = await handler(session, ctx) if handler else "ignored"
    log.info("stripe event %s %s: %s", event.get("id"), ctx.type, outcome)
    return outcome


async def _first_delivery(session: AsyncSession, ctx: Context) -> bool:
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    # RETURNING, not rowcount: psycopg reports -1 for this INSERT.
    inserted = await session.execute(
        insert(StripeEvent).values(id=ctx.event["id"], type=ctx.type, created=ctx.created, received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["id"]).returning(StripeEvent.id))
    return inserted.scalar_one_or_none() is not None


def _is_stale(row: Subscription, ctx: Context) -> bool:
    if row.stripe_state_at is None or ctx.created > row.stripe_state_at:
        return False
    if ctx.created < row.stripe_state_at:
        return True
    # The same second: a "created" never overrides what a same-second update already set.
    return ctx.type == "customer.subscription.created"


async def _row_for_user(session: AsyncSession, user_id: Any) -> Subscription | None:
    """The account's row (created when missing), or None when no such account exists."""
    try:
        user_id = int(user_id)
    except (TypeError, ValueError):
        return None
    if await session.get(User, user_id) is None:
        return None
    row = await subscription_of(session, user_id, lock=True)
    if row is None:
        row = new_subscription(user_id)
        session.add(row)
    return row


async def _settle(session: AsyncSession, ctx: Context, row: Subscription) -> None:
    await session.flush()
    await apply_plan_limits(session, row.user_id, grace_days=ctx.settings.billing.grace_days)


async def checkout_completed(session: AsyncSession, ctx: Context) -> str:
    """Links the Stripe customer and subscription to the account (client_reference_id)."""
    checkout = ctx.object
    if checkout.get("mode") != "subscription":
        return "ignored"
    row = await _row_for_user(session, checkout.get("client_reference_id"))
    if row is None:
        return "unknown account"
    customer, subscription = checkout.get("customer"), checkout.get("subscription")
    if customer and not row.stripe_customer_id:
        row.stripe_customer_id = customer
    if subscription and (not row.stripe_subscription_id or row.status not in LIVE_STATUSES):
        row.stripe_subscription_id = subscription
    row.updated_at = utcnow()
    return "linked"


async def subscription_changed(session: AsyncSession, ctx: Context) -> str:
    """customer.subscription.created / updated / deleted: the subscription's state as of the event."""
    sub = ctx.object
    row = await subscription_by_stripe_ids(session, sub.get("id"), sub.get("customer"))
    if row is None:
        row = await _row_for_user(session, (sub.get("metadata") or {}).get("user_id"))
    if row is None:
        return "unknown account"
    if _is_stale(row, ctx):
        return "stale"
    deleted = ctx.type == "customer.subscription.deleted"
    other = row.stripe_subscription_id not in (None, sub.get("id"))
    if other and row.status in LIVE_STATUSES and (deleted or sub.get("status") not in ("active", "trialing", "past_due")):
        return "not the current subscription"  # e.g. an old subscription ending after a new one started
    plan = plan_for_price(await all_plans(session), ctx.settings.billing, subscription_price_id(sub))
    if plan is None:
        if not deleted:
            log.warning("stripe subscription %s has a price we do not sell", sub.get("id"))
            return "unknown price"
        plan = row.plan_code
    state = subscription_state(sub, plan)
    if deleted:
        state = replace(state, status="canceled")
    apply_state(row, state, at=from_timestamp(ctx.created), stamp=ctx.created)
    await _settle(session, ctx, row)
    return f"subscription {state.status}"


async def invoice_event(session: AsyncSession, ctx: Context) -> str:
    """invoice.paid / invoice.payment_failed: the invoice list, and past_due with its grace period."""
    invoice = ctx.object
    subscription_id = invoice_subscription_id(invoice)
    row = await subscription_by_stripe_ids(session, subscription_id, invoice_customer_id(invoice))
    if row is None:
        details = (invoice.get("parent") or {}).get("subscription_details") or {}
        row = await _row_for_user(session, (details.get("metadata") or {}).get("user_id"))
    if row is None:
        return "unknown account"
    paid = ctx.type == "invoice.paid"
    currency = (invoice.get("currency") or "usd").lower()
    await record_invoice(session, row.user_id, InvoiceRecord(
        stripe_invoice_id=invoice["id"],
        amount=to_amount(invoice.get("amount_paid") if paid else invoice.get("amount_due"), currency),
        currency=currency, status="paid" if paid else "payment_failed",
        hosted_invoice_url=invoice.get("hosted_invoice_url"),
        created_at=from_timestamp(invoice.get("created")) or utcnow(),
    ))
    if _is_stale(row, ctx) or (subscription_id and subscription_id != row.stripe_subscription_id):
        return "invoice recorded"
    if not paid and row.status in ("active", "trialing"):
        row.status = "past_due"
        row.past_due_since = row.past_due_since or from_timestamp(ctx.created)
    elif paid and row.status == "past_due":
        row.status, row.past_due_since = "active", None
    else:
        return "invoice recorded"
    row.stripe_state_at = max(ctx.created, row.stripe_state_at or 0)
    row.updated_at = utcnow()
    await _settle(session, ctx, row)
    return f"invoice recorded, subscription {row.status}"


HANDLERS: dict[str, Callable[[AsyncSession, Context], Awaitable[str]]] = {
    "checkout.session.completed": checkout_completed,
    "customer.subscription.created": subscription_changed,
    "customer.subscription.updated": subscription_changed,
    "customer.subscription.deleted": subscription_changed,
    "invoice.paid": invoice_event,
    "invoice.payment_failed": invoice_event,
}
