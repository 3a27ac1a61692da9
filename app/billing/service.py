"""What the subscription page can do: trial, subscribe, switch tiers, cancel or resume, manage payment.

Each action reads what it needs and ends that transaction, calls the billing client with no
transaction open, then writes the answer in a new transaction guarded by the state it read
(``updated_at``), so a concurrent webhook or a second click is never overwritten blindly.
With Stripe, a checkout only redirects: the webhook writes the subscription once it is paid.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import audit
from app.billing.client import BillingClient, BillingError, CheckoutCompleted, CheckoutRequest, SubscriptionState
from app.billing.entitlements import BASIC, Entitlements, entitlements
from app.billing.limits import apply_plan_limits
from app.billing.plans import PlanView, all_plans, price_id
from app.billing.records import (
    LIVE_STATUSES,
    InvoiceRecord,
    apply_state_audited,
    new_subscription,
    record_invoice,
    state_of,
    subscription_of,
)
from app.db.models import Invoice, Subscription, User
from app.db.types import utcnow
from app.settings import Settings

TRIAL_PLAN = "pro"
PAID_STATUSES = ("active", "past_due")
"""Statuses in which the plan on record is being paid for (a trial is not)."""
_INTENT = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class OrganizationPlanOnly(BillingError):
    """A plan sold to organizations only, asked for on the personal page: bought on the
    organization's billing page instead (``url``)."""

    url = "/workspaces"

    def __init__(self, plan: PlanView) -> None:
        super().__init__(f"The {plan.name} plan belongs to an organization, not to a person: create an organization "
                         f"(it starts with a 14-day {plan.name} trial) or subscribe yours from its billing page "
                         f"(Workspaces, then the organization, then Billing).")
        self.plan = plan


def new_intent() -> str:
    """A token rendered into each form: a double-submitted form reuses its Stripe idempotency key."""
    return secrets.token_urlsafe(16)


def _intent(value: str | None) -> str:
    return value if value and _INTENT.match(value) else new_intent()


@dataclass(frozen=True)
class SubscriptionView:
    mode: str
    plans: list[PlanView]
    plan: PlanView
    """The plan in force now."""
    subscribed: PlanView | None
    """The paid plan on record (may have lapsed: then ``plan`` is Basic)."""
    status: str | None
    renews_at: datetime | None
    ends_at: datetime | None
    """Canceled at period end: paid features stop then."""
    trial_end: datetime | None
    grace_until: datetime | None
    lapsed: str | None
    """Why a paid plan on record no longer applies ("trial ended", ...)."""
    trial_available: bool
    can_subscribe: list[PlanView]
    can_switch_to: list[PlanView]
    can_cancel: bool
    can_resume: bool
    can_manage_payment: bool
    can_downgrade: bool = False
    """To Basic: at once in local mode, at the end of the period with Stripe."""
    invoices: list[Invoice] = field(default_factory=list)


@dataclass(frozen=True)
class Quote:
    """What a paid change costs per month, shown for confirmation before it is made."""

    action: str
    """subscribe | switch"""
    plan: PlanView
    current: PlanView
    """The plan in force now."""
    paying_now: Decimal
    """Per month: 0 on Basic and during a trial."""
    intent: str

    @property
    def difference(self) -> Decimal:
        return Decimal(self.plan.monthly_price) - self.paying_now

    @property
    def difference_amount(self) -> str:
        """In dollars and cents, signed: "29.00", "-170.00"."""
        return str(self.difference.quantize(Decimal("0.01")))

    @property
    def difference_label(self) -> str:
        sign = "+" if self.difference >= 0 else "−"
        return f"{sign}${abs(self.difference).quantize(Decimal('0.01')):,}/month"


@dataclass(frozen=True)
class Outcome:
    redirect: str
    """A page of ours, or Stripe's Checkout / Customer Portal."""


def _lapse_reason(row: Subscription | None, ents: Entitlements, now: datetime) -> str | None:
    if row is None or row.plan_code == BASIC or ents.plan_code != BASIC:
        return None
    if row.status == "trialing":
        return "trial ended"
    if row.status == "past_due":
        return "payment overdue beyond the grace period"
    if row.status == "canceled":
        return "canceled"
    if row.cancel_at_period_end and row.current_period_end and row.current_period_end < now:
        return "canceled at the end of the period"
    return None


class SubscriptionService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings, client: BillingClient) -> None:
        self.sessions = sessions
        self.settings = settings
        self.client = client

    @property
    def grace_days(self) -> int:
        return self.settings.billing.grace_days

    def _url(self, query: str) -> str:
        return f"{self.settings.web.base_url.rstrip('/')}/settings/subscription?{query}"

    # ---- reading ------------------------------------------------------------------------------

    async def overview(self, user_id: int, now: datetime | None = None) -> SubscriptionView:
        now = now or utcnow()
        async with self.sessions() as session:
            plans = await all_plans(session)
            row = await subscription_of(session, user_id)
            ents = await entitlements(session, user_id, now, self.grace_days)
            invoices = list((await session.execute(select(Invoice).where(Invoice.user_id == user_id,
                                                                         Invoice.workspace_id.is_(None))
                                                   .order_by(Invoice.created_at.desc(), Invoice.id.desc()))).scalars())
        live = row is not None and row.status in LIVE_STATUSES and ents.plan_code != BASIC
        stripe_managed = live and bool(row.stripe_subscription_id)
        paid = [p for p in plans.values() if p.on_sale and not p.for_organizations]
        local_trial = live and row.status == "trialing" and not stripe_managed
        return SubscriptionView(
            mode=self.client.mode,
            plans=list(plans.values()),
            plan=plans[ents.plan_code],
            subscribed=plans[row.plan_code] if row is not None and row.plan_code != BASIC else None,
            status=row.status if live else None,
            renews_at=row.current_period_end if live and not row.cancel_at_period_end and row.status != "trialing" else None,
            ends_at=row.current_period_end if live and row.cancel_at_period_end else None,
            trial_end=row.trial_end if live and row.status == "trialing" else None,
            grace_until=ents.grace_until,
            lapsed=_lapse_reason(row, ents, now),
            trial_available=not live and not (row is not None and row.trial_used),
            # A local trial may be replaced by a paid plan at once; a Stripe trial converts by itself.
            can_subscribe=paid if not live or local_trial else [],
            can_switch_to=[p for p in paid if p.code != row.plan_code] if live and row.status in ("active", "past_due") else [],
            can_cancel=live and not row.cancel_at_period_end,
            can_resume=live and row.cancel_at_period_end,
            can_manage_payment=self.client.mode == "stripe" and row is not None and bool(row.stripe_customer_id),
            can_downgrade=live and (self.client.mode == "local" or not row.cancel_at_period_end),
            invoices=invoices,
        )

    # ---- actions ------------------------------------------------------------------------------

    async def subscribe(self, user: User, plan_code: str, *, trial: bool = False, intent: str | None = None) -> Outcome:
        """Start the 7-day Pro trial (``trial=True``) or a paid plan: Stripe Checkout, or at once locally."""
        now = utcnow()
        async with self.sessions() as session:
            plan = await self._paid_plan(session, plan_code)
            row = await subscription_of(session, user.id)
            ents = await entitlements(session, user.id, now, self.grace_days)
        self._check_subscribe(plan, row, ents, trial)
        price = price_id(self.settings.billing, plan)
        expected = row.updated_at if row is not None else None
        result = await self.client.start_checkout(CheckoutRequest(
            user_id=user.id, email=user.email, plan_code=plan.code, price_id=price,
            customer_id=row.stripe_customer_id if row is not None else None,
            trial_days=self.settings.billing.trial_days if trial else None,
            success_url=self._url("checkout=success"), cancel_url=self._url("checkout=canceled"),
            idempotency_key=f"checkout-{user.id}-{plan.code}-{'trial' if trial else 'paid'}-{_intent(intent)}",
        ))
        if not isinstance(result, CheckoutCompleted):
            return Outcome(result.url)
        async with self.sessions() as session, session.begin():
            row = await self._expect(session, user.id, expected)
            await apply_state_audited(session, row, result.state, await audit.actor_for(session, user.id), at=now)
            if result.state.status == "active":
                await record_invoice(session, user.id, _local_invoice(plan, now))
            await session.flush()
            await apply_plan_limits(session, user.id, grace_days=self.grace_days)
        return Outcome("/settings/subscription?done=trial" if trial else "/settings/subscription?done=subscribed")

    async def switch_plan(self, user: User, plan_code: str, intent: str | None = None) -> Outcome:
        """Between paid tiers, prorated by Stripe."""
        async with self.sessions() as session:
            plan = await self._paid_plan(session, plan_code)
            row = await subscription_of(session, user.id)
        self._check_switch(plan, row)
        current = state_of(row)
        updated = await self.client.change_plan(
            current, plan.code, price_id(self.settings.billing, plan),
            f"switch-{row.stripe_subscription_id or user.id}-{plan.code}-{_intent(intent)}")
        await self._write(user.id, row, updated)
        return Outcome("/settings/subscription?done=switched")

    async def set_cancel(self, user: User, cancel: bool, intent: str | None = None) -> Outcome:
        async with self.sessions() as session:
            row = await subscription_of(session, user.id)
        if row is None or row.status not in LIVE_STATUSES:
            raise BillingError("There is no subscription to cancel or resume.")
        if row.cancel_at_period_end == cancel:
            return Outcome(f"/settings/subscription?done={'canceled' if cancel else 'resumed'}")
        updated = await self.client.set_cancel_at_period_end(
            state_of(row), cancel,
            f"{'cancel' if cancel else 'resume'}-{row.stripe_subscription_id or user.id}-{_intent(intent)}")
        await self._write(user.id, row, updated)
        return Outcome(f"/settings/subscription?done={'canceled' if cancel else 'resumed'}")

    async def quote(self, user: User, action: str, plan_code: str, intent: str | None = None) -> Quote:
        """The confirmation of a paid change: refused here for the same reasons the change would be."""
        async with self.sessions() as session:
            plan = await self._paid_plan(session, plan_code)
            plans = await all_plans(session)
            row = await subscription_of(session, user.id)
            ents = await entitlements(session, user.id, grace_days=self.grace_days)
        if action == "switch":
            self._check_switch(plan, row)
        else:
            self._check_subscribe(plan, row, ents, trial=False)
        paying = row is not None and row.status in PAID_STATUSES and ents.plan_code != BASIC
        return Quote(action, plan, plans[ents.plan_code],
                     Decimal(plans[row.plan_code].monthly_price) if paying else Decimal(0), _intent(intent))

    async def downgrade(self, user: User, intent: str | None = None) -> Outcome:
        """Back to Basic. Locally at once (nothing is charged, so nothing is left to run out);
        with Stripe the subscription is canceled at the end of the period already paid for."""
        if self.client.mode != "local":
            await self.set_cancel(user, True, intent)
            return Outcome("/settings/subscription?done=downgrade-scheduled")
        async with self.sessions() as session:
            row = await subscription_of(session, user.id)
        if row is None or row.status not in LIVE_STATUSES or row.plan_code == BASIC:
            raise BillingError("You are on Basic already.")
        ended = replace(state_of(row), status="canceled", cancel_at_period_end=False, current_period_end=utcnow())
        await self._write(user.id, row, ended)
        return Outcome("/settings/subscription?done=downgraded")

    async def payment_portal(self, user: User, intent: str | None = None) -> Outcome:
        async with self.sessions() as session:
            row = await subscription_of(session, user.id)
        if self.client.mode == "stripe" and (row is None or not row.stripe_customer_id):
            raise BillingError("There are no payment methods yet: they are added when you subscribe.")
        customer = row.stripe_customer_id if row is not None else ""
        return Outcome(await self.client.portal_url(customer or "", self._url("portal=returned"),
                                                    f"portal-{user.id}-{_intent(intent)}"))

    # ---- helpers ------------------------------------------------------------------------------

    async def _paid_plan(self, session: AsyncSession, plan_code: str) -> PlanView:
        plans = await all_plans(session)
        plan = plans.get(plan_code)
        if plan is not None and plan.is_paid and not plan.on_sale:
            raise BillingError(f"The {plan.name} plan is not on sale: today it gives nothing beyond {plan.same_as}.")
        if plan is not None and plan.for_organizations:
            raise OrganizationPlanOnly(plan)
        if plan is None or not plan.is_paid:
            on_sale = " or the ".join(p.name for p in plans.values() if p.on_sale and not p.for_organizations)
            raise BillingError(f"Choose the {on_sale} plan.")
        return plan

    def _check_subscribe(self, plan: PlanView, row: Subscription | None, ents: Entitlements, trial: bool) -> None:
        live = row is not None and row.status in LIVE_STATUSES and ents.plan_code != BASIC
        if live and not (row.status == "trialing" and not row.stripe_subscription_id and not trial):
            raise BillingError("You already have a subscription: switch plans or cancel it below.")
        if trial and (plan.code != TRIAL_PLAN or (row is not None and row.trial_used)):
            raise BillingError("The free trial is for the Pro plan, once per account, and this account had it.")
        if self.client.mode == "stripe" and not price_id(self.settings.billing, plan):
            raise BillingError(f"The {plan.name} plan cannot be bought yet (no Stripe price configured).")

    @staticmethod
    def _check_switch(plan: PlanView, row: Subscription | None) -> None:
        if row is None or row.status not in PAID_STATUSES:
            raise BillingError("Switching is for an active paid plan; subscribe first.")
        if row.plan_code == plan.code:
            raise BillingError(f"You are already on the {plan.name} plan.")

    async def _expect(self, session: AsyncSession, user_id: int, expected: datetime | None) -> Subscription:
        row = await subscription_of(session, user_id, lock=True)
        if (row.updated_at if row is not None else None) != expected:
            raise BillingError("Your subscription changed meanwhile; please look at it again.")
        if row is None:
            row = new_subscription(user_id)
            session.add(row)
        return row

    async def _write(self, user_id: int, read: Subscription, state: SubscriptionState) -> None:
        async with self.sessions() as session, session.begin():
            row = await subscription_of(session, user_id, lock=True)
            if row is None or row.updated_at != read.updated_at:
                if self.client.mode == "stripe":
                    return  # a webhook wrote first; it carries Stripe's own state of the change
                raise BillingError("Your subscription changed meanwhile; please look at it again.")
            await apply_state_audited(session, row, state, await audit.actor_for(session, user_id), at=utcnow())
            await session.flush()
            await apply_plan_limits(session, user_id, grace_days=self.grace_days)


def _local_invoice(plan: PlanView, now: datetime) -> InvoiceRecord:
    """Local mode charges nothing; the record keeps the invoice list and the admin figures honest
    about what would have been billed (its id says local)."""
    return InvoiceRecord(f"local_{secrets.token_hex(8)}", Decimal(plan.monthly_price), "usd", "paid", None, now)
