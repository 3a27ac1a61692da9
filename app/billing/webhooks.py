"""Stripe webhooks: verified, applied once, in any order.

- The signature is checked on the raw body (``stripe.Webhook.construct_event``) before anything else,
  and a timestamp too far in the future is refused as well (the SDK only checks the past).
- Every field a handler reads must have Stripe's type (``event_problem``): anything else is a
  400 that changes nothing, never a 500 half-way through.
- The event id is inserted into ``stripe_events`` in the same transaction as its effects: a
  replay finds the id and changes nothing; a failure rolls both back and Stripe retries.
- Stripe does not promise order. Each subscription change is stamped with its event's
  ``created``; an older event arriving later (an ``active`` after a newer ``canceled``) is ignored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import stripe
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import audit
from app.billing.limits import apply_plan_limits
from app.billing.plans import all_plans, plan_for_price
from app.billing.records import (
    LIVE_STATUSES,
    InvoiceRecord,
    apply_state_audited,
    new_subscription,
    record_invoice,
    organization_subscription_of,
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
from app.db.models import StripeEvent, Subscription, User, Workspace, WorkspaceMember
from app.db.models.workspaces import ORGANIZATION
from app.db.types import utcnow
from app.services.inputs import DB_ID_MAX, BadInput, is_row_id, load_json
from app.settings import Settings

log = logging.getLogger(__name__)


class Refused(Exception):
    """A delivery we do not apply: answered with 400, nothing changed."""


class BadSignature(Refused):
    """Not from Stripe (or not for this endpoint)."""


class MalformedEvent(Refused):
    """Signed, but not an event of the shape its type has (a field missing or of another type)."""


TOLERANCE_SECONDS = stripe.Webhook.DEFAULT_TOLERANCE


def verify(raw: bytes, signature: str | None, secret: str, now: float | None = None) -> dict[str, Any]:
    """The event, if ``raw`` was signed with ``secret`` within the tolerance of ``now``, either way;
    the body is parsed only after the check (the SDK's own parse included: depth bounded first)."""
    if not secret:
        raise BadSignature("Stripe webhooks are not configured (COMPUTEHUB_STRIPE_WEBHOOK_SECRET)")
    try:
        event = load_json(raw)
    except BadInput as exc:
        raise BadSignature(f"invalid payload: {exc}") from None
    try:
        stripe.Webhook.construct_event(raw, signature or "", secret, tolerance=TOLERANCE_SECONDS)
        # The timestamp the SDK just verified (its parser, so the same one of several t=).
        signed_at, _ = stripe.WebhookSignature._get_timestamp_and_signatures(signature, "v1")
    except stripe.SignatureVerificationError:
        raise BadSignature("invalid Stripe-Signature") from None
    except ValueError:  # not JSON
        raise BadSignature("invalid payload") from None
    if signed_at > (time.time() if now is None else now) + TOLERANCE_SECONDS:
        raise BadSignature("invalid Stripe-Signature: timestamp in the future")
    return event


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
    problem = event_problem(event)
    if problem:
        raise MalformedEvent(f"malformed event: {problem}")
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
    if not is_row_id(user_id):
        return None
    if await session.get(User, user_id) is None:
        return None
    row = await subscription_of(session, user_id, lock=True)
    if row is None:
        row = new_subscription(user_id)
        session.add(row)
    return row


async def _row_for_organization(session: AsyncSession, workspace_id: Any, user_id: Any) -> Subscription | None:
    """The organization's row (created when missing, its billing contact the paying member, else
    the owner), or None when no such organization exists."""
    try:
        workspace_id = int(workspace_id)
    except (TypeError, ValueError):
        return None
    if not is_row_id(workspace_id):
        return None
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None or workspace.kind != ORGANIZATION:
        return None
    members = select(WorkspaceMember.user_id).where(WorkspaceMember.workspace_id == workspace_id)
    paying = int(user_id) if str(user_id).isdigit() and is_row_id(int(user_id)) else None
    contact = (await session.execute(members.where(WorkspaceMember.user_id == paying))).scalar() if paying else None
    row = await organization_subscription_of(session, workspace_id, lock=True)
    if row is None:
        contact = contact or (await session.execute(members.where(WorkspaceMember.role == "owner"))).scalar()
        if contact is None:
            return None
        row = new_subscription(contact, workspace_id)
        session.add(row)
    elif contact is not None:
        row.user_id = contact  # the member who paid is the billing contact now
    return row


async def _row_for(session: AsyncSession, metadata: Any, user_id: Any = None) -> Subscription | None:
    """The row the metadata names: the organization's when it carries ``workspace_id`` (an
    organization's checkout), else the account's."""
    metadata = metadata if isinstance(metadata, dict) else {}
    if metadata.get("workspace_id") is not None:
        return await _row_for_organization(session, metadata["workspace_id"], metadata.get("user_id", user_id))
    return await _row_for_user(session, metadata.get("user_id", user_id))


async def _settle(session: AsyncSession, ctx: Context, row: Subscription) -> None:
    await session.flush()
    if row.workspace_id is None:  # an organization's keys take no one's quota: nothing to fit
        await apply_plan_limits(session, row.user_id, grace_days=ctx.settings.billing.grace_days)


async def checkout_completed(session: AsyncSession, ctx: Context) -> str:
    """Links the Stripe customer and subscription to the account (client_reference_id)."""
    checkout = ctx.object
    if checkout.get("mode") != "subscription":
        return "ignored"
    row = await _row_for(session, checkout.get("metadata"), checkout.get("client_reference_id"))
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
        row = await _row_for(session, sub.get("metadata"))
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
    await apply_state_audited(session, row, state, audit.STRIPE, at=from_timestamp(ctx.created), stamp=ctx.created)
    await _settle(session, ctx, row)
    return f"subscription {state.status}"


async def invoice_event(session: AsyncSession, ctx: Context) -> str:
    """invoice.paid / invoice.payment_failed: the invoice list, and past_due with its grace period."""
    invoice = ctx.object
    subscription_id = invoice_subscription_id(invoice)
    row = await subscription_by_stripe_ids(session, subscription_id, invoice_customer_id(invoice))
    if row is None:
        details = (invoice.get("parent") or {}).get("subscription_details") or {}
        row = await _row_for(session, details.get("metadata"))
    if row is None:
        return "unknown account"
    paid = ctx.type == "invoice.paid"
    currency = (invoice.get("currency") or "usd").lower()
    await record_invoice(session, row.user_id, workspace_id=row.workspace_id, record=InvoiceRecord(
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


# ---- the shape of what the handlers read --------------------------------------------------

def _stripe_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 64  # the id columns are 64 wide


def _expandable_id(value: Any) -> bool:
    """An id, or the expanded object carrying it."""
    return _stripe_id(value) or (isinstance(value, dict) and (value.get("id") is None or _stripe_id(value["id"])))


def _timestamp(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= DB_ID_MAX  # an INTEGER column


def _short_text(limit: int) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and len(value) <= limit


def _amount(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**15


def _any_scalar(value: Any) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool)


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


# Dotted paths into data.object ("[]" walks a list); every field may be missing or null unless
# REQUIRED names it. Containers on the way must be objects (or lists at "[]").
_SUBSCRIPTION = {
    "id": _stripe_id, "customer": _expandable_id, "status": _short_text(64), "metadata.user_id": _any_scalar,
    "metadata.workspace_id": _any_scalar,
    "items.data[].id": _stripe_id, "items.data[].price.id": _short_text(255),
    "items.data[].current_period_end": _timestamp, "current_period_end": _timestamp, "trial_end": _timestamp,
    "cancel_at": _timestamp, "cancel_at_period_end": _flag,
}
_INVOICE = {
    "id": _stripe_id, "customer": _expandable_id, "subscription": _expandable_id,
    "parent.subscription_details.subscription": _expandable_id,
    "parent.subscription_details.metadata.user_id": _any_scalar,
    "parent.subscription_details.metadata.workspace_id": _any_scalar, "currency": _short_text(8),
    "amount_paid": _amount, "amount_due": _amount, "hosted_invoice_url": _short_text(512), "created": _timestamp,
}
FIELDS: dict[str, dict[str, Callable[[Any], bool]]] = {
    "checkout.session.completed": {"mode": _short_text(64), "client_reference_id": _any_scalar,
                                   "customer": _stripe_id, "subscription": _stripe_id,
                                   "metadata.user_id": _any_scalar, "metadata.workspace_id": _any_scalar},
    "customer.subscription.created": _SUBSCRIPTION,
    "customer.subscription.updated": _SUBSCRIPTION,
    "customer.subscription.deleted": _SUBSCRIPTION,
    "invoice.paid": _INVOICE,
    "invoice.payment_failed": _INVOICE,
}
REQUIRED = {"invoice.paid": {"id"}, "invoice.payment_failed": {"id"}}


class _Wrong(Exception):
    pass


def _values(obj: Any, path: list[str]) -> list[Any]:
    """The values at ``path`` (None where a step is missing); _Wrong when a container is not one."""
    if not path:
        return [obj]
    if obj is None:
        return [None]
    step, rest = path[0], path[1:]
    listed = step.endswith("[]")
    if not isinstance(obj, dict):
        raise _Wrong
    value = obj.get(step.removesuffix("[]"))
    if listed:
        if value is None:
            return [None]
        if not isinstance(value, list):
            raise _Wrong
        return [found for item in value for found in _values(item, rest)]
    return _values(value, rest)


def event_problem(event: Any) -> str | None:
    """What is wrong with the event's shape (the envelope and every field its handler reads), or None."""
    if not isinstance(event, dict):
        return "not an object"
    if not _short_text(255)(event.get("id")) or not event["id"]:  # the stripe_events key is 255 wide
        return "id"
    if not (isinstance(event.get("type"), str) and 0 < len(event["type"]) <= 64):
        return "type"
    if not _timestamp(event.get("created")):
        return "created"
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        return "data.object"
    for path, valid in FIELDS.get(event["type"], {}).items():
        try:
            values = _values(data["object"], path.split("."))
        except _Wrong:
            return f"data.object.{path}"
        for value in values:
            required = path in REQUIRED.get(event["type"], ())
            if (value is None and required) or (value is not None and not valid(value)):
                return f"data.object.{path}"
    return None

