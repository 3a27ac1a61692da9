"""An organization's own subscription: what its billing page shows and does.

The same discipline as ``service.SubscriptionService`` (read, end the transaction, call the
billing client with none open, write in a new transaction guarded by the ``updated_at`` read),
for the organization's row: ``workspace_id`` set, ``user_id`` the member who last subscribed it
(its billing contact). Every action needs ``manage_billing`` (owner and billing roles).
The checkout names the organization (``CheckoutRequest.workspace_id``), so Stripe makes it a
customer of its own and the webhook writes its row, not the paying member's.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import audit
from app.billing.client import BillingClient, BillingError, CheckoutCompleted, CheckoutRequest, SubscriptionState
from app.billing.entitlements import Entitlements, organization_entitlements, org_billing_url
from app.billing.organization_plan import FEATURE, organization_plan
from app.billing.plans import PlanView, all_plans, price_id
from app.billing.records import (
    LIVE_STATUSES,
    InvoiceRecord,
    apply_state_audited,
    new_subscription,
    organization_subscription_of,
    record_invoice,
    state_of,
)
from app.db.models import Invoice, Subscription, User
from app.db.types import utcnow
from app.settings import Settings
from app.workspaces.organizations import org_only
from app.workspaces.scope import Scope


class AlreadySubscribed(BillingError):
    """The organization pays for its plan already: nothing to buy."""


class SubscriptionMoved(BillingError):
    """The row changed between the read and the write (a webhook, a second click)."""


@dataclass(frozen=True)
class OrgBillingView:
    mode: str
    plan: PlanView
    """The organization plan (what it buys)."""
    in_force: Entitlements
    status: str | None
    """trialing | active | past_due while live; None when it lapsed or never paid."""
    trial_end: datetime | None
    renews_at: datetime | None
    ends_at: datetime | None
    lapsed: str | None
    contact: str | None
    """E-mail of the member who subscribed it."""
    can_subscribe: bool
    can_cancel: bool
    can_resume: bool
    can_manage_payment: bool
    invoices: list[Invoice] = field(default_factory=list)

    @property
    def locked(self) -> bool:
        return not self.in_force.has(FEATURE)


def _paying(row: Subscription | None, ents: Entitlements) -> bool:
    return row is not None and row.status in ("active", "past_due") and ents.has(FEATURE)


def _lapse(row: Subscription | None, ents: Entitlements) -> str | None:
    if row is None or ents.has(FEATURE):
        return None
    if row.status == "trialing":
        return "trial ended"
    if row.status == "past_due":
        return "payment overdue beyond the grace period"
    return "canceled"


class OrganizationBilling:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings, client: BillingClient) -> None:
        self.sessions = sessions
        self.settings = settings
        self.client = client

    @property
    def grace_days(self) -> int:
        return self.settings.billing.grace_days

    def _url(self, workspace_id: int, query: str) -> str:
        return f"{self.settings.web.base_url.rstrip('/')}{org_billing_url(workspace_id)}?{query}"

    async def _plan(self, session: AsyncSession) -> PlanView:
        return (await all_plans(session))[(await organization_plan(session)).code]

    async def overview(self, scope: Scope, now: datetime | None = None) -> OrgBillingView:
        org_only(scope)
        scope.require("manage_billing")
        now = now or utcnow()
        async with self.sessions() as session:
            plan = await self._plan(session)
            row = await organization_subscription_of(session, scope.workspace_id)
            ents = await organization_entitlements(session, scope.workspace_id, now, self.grace_days)
            contact = (await session.get(User, row.user_id)).email if row is not None else None
            invoices = list((await session.execute(select(Invoice).where(Invoice.workspace_id == scope.workspace_id)
                                                   .order_by(Invoice.created_at.desc(), Invoice.id.desc()))).scalars())
        live = row is not None and row.status in LIVE_STATUSES and ents.has(FEATURE)
        stripe_managed = live and bool(row.stripe_subscription_id)
        return OrgBillingView(
            mode=self.client.mode, plan=plan, in_force=ents, status=row.status if live else None,
            trial_end=row.trial_end if live and row.status == "trialing" else None,
            renews_at=row.current_period_end if live and row.status != "trialing" and not row.cancel_at_period_end else None,
            ends_at=row.current_period_end if live and row.cancel_at_period_end else None,
            lapsed=_lapse(row, ents), contact=contact,
            # Our own trial is not a Stripe one: the organization may pay during it.
            can_subscribe=plan.on_sale and not (live and (row.status != "trialing" or stripe_managed)),
            can_cancel=live and row.status != "trialing" and not row.cancel_at_period_end,
            can_resume=live and row.cancel_at_period_end,
            can_manage_payment=self.client.mode == "stripe" and row is not None and bool(row.stripe_customer_id),
            invoices=invoices,
        )

    async def subscribe(self, scope: Scope, user: User, intent: str) -> str:
        """Checkout of the organization plan for the organization; returns where to go next."""
        org_only(scope)
        scope.require("manage_billing")
        now = utcnow()
        async with self.sessions() as session:
            plan = await self._plan(session)
            row = await organization_subscription_of(session, scope.workspace_id)
            ents = await organization_entitlements(session, scope.workspace_id, now, self.grace_days)
        if _paying(row, ents) or (row is not None and row.stripe_subscription_id and row.status in LIVE_STATUSES):
            raise AlreadySubscribed(f"This organization is on the {plan.name} plan already.")
        price = price_id(self.settings.billing, plan)
        if self.client.mode == "stripe" and not price:
            raise BillingError(f"The {plan.name} plan cannot be bought yet (no Stripe price configured).")
        expected = row.updated_at if row is not None else None
        result = await self.client.start_checkout(CheckoutRequest(
            user_id=user.id, email=user.email, plan_code=plan.code, price_id=price,
            customer_id=row.stripe_customer_id if row is not None else None, trial_days=None,
            success_url=self._url(scope.workspace_id, "checkout=success"),
            cancel_url=self._url(scope.workspace_id, "checkout=canceled"),
            idempotency_key=f"org-checkout-{scope.workspace_id}-{plan.code}-{intent}",
            workspace_id=scope.workspace_id,
        ))
        if not isinstance(result, CheckoutCompleted):
            return result.url
        async with self.sessions() as session, session.begin():
            row = await self._expect(session, scope, user.id, expected)
            row.user_id = user.id  # the billing contact is who paid
            await apply_state_audited(session, row, result.state, await audit.actor_for(session, user.id), at=now)
            await record_invoice(session, user.id, InvoiceRecord(
                f"local_{secrets.token_hex(8)}", Decimal(plan.monthly_price), "usd", "paid", None, now),
                workspace_id=scope.workspace_id)
        return f"{org_billing_url(scope.workspace_id)}?done=subscribed"

    async def set_cancel(self, scope: Scope, user: User, cancel: bool, intent: str) -> str:
        org_only(scope)
        scope.require("manage_billing")
        async with self.sessions() as session:
            row = await organization_subscription_of(session, scope.workspace_id)
        if row is None or row.status not in ("active", "past_due"):
            raise BillingError("This organization has no paid subscription to cancel or resume.")
        done = f"{org_billing_url(scope.workspace_id)}?done={'canceled' if cancel else 'resumed'}"
        if row.cancel_at_period_end == cancel:
            return done
        key = f"org-{'cancel' if cancel else 'resume'}-{row.stripe_subscription_id or scope.workspace_id}-{intent}"
        updated = await self.client.set_cancel_at_period_end(state_of(row), cancel, key)
        await self._write(scope, user.id, row, updated)
        return done

    async def payment_portal(self, scope: Scope, intent: str) -> str:
        org_only(scope)
        scope.require("manage_billing")
        async with self.sessions() as session:
            row = await organization_subscription_of(session, scope.workspace_id)
        if row is None or not row.stripe_customer_id:
            raise BillingError("There are no payment methods yet: they are added when the organization subscribes.")
        return await self.client.portal_url(row.stripe_customer_id, self._url(scope.workspace_id, "portal=returned"),
                                            f"org-portal-{scope.workspace_id}-{intent}")

    async def _expect(self, session: AsyncSession, scope: Scope, user_id: int, expected: datetime | None) -> Subscription:
        row = await organization_subscription_of(session, scope.workspace_id, lock=True)
        if (row.updated_at if row is not None else None) != expected:
            raise SubscriptionMoved("The organization's subscription changed meanwhile; please look at it again.")
        if row is None:  # an organization from before its trial existed
            row = new_subscription(user_id, scope.workspace_id)
            session.add(row)
        return row

    async def _write(self, scope: Scope, user_id: int, read: Subscription, state: SubscriptionState) -> None:
        async with self.sessions() as session, session.begin():
            row = await organization_subscription_of(session, scope.workspace_id, lock=True)
            if row is None or row.updated_at != read.updated_at:
                return  # a webhook wrote first; it carries Stripe's own state of the change
            await apply_state_audited(session, row, state, await audit.actor_for(session, user_id), at=utcnow())

