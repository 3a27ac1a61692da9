"""Figures for /admin/billing: every account's tier, trial-to-paid conversion, payment success."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.entitlements import entitlements
from app.db.models import Invoice, Subscription, User
from app.db.types import utcnow

CONVERSION_TARGET = Decimal("0.05")
"""Trial-to-paid conversion above 5 %."""
PAYMENT_SUCCESS_TARGET = Decimal("0.95")
"""Payment success above 95 %."""


@dataclass(frozen=True)
class AccountRow:
    user_id: int
    email: str
    tier: str
    """The plan in force now."""
    subscribed: str | None
    status: str | None
    trial_used: bool


@dataclass(frozen=True)
class Rate:
    label: str
    numerator: int
    denominator: int
    target: Decimal

    @property
    def value(self) -> Decimal | None:
        return Decimal(self.numerator) / Decimal(self.denominator) if self.denominator else None

    @property
    def met(self) -> bool | None:
        """None until there is anything to measure."""
        return None if self.value is None else self.value > self.target

    @property
    def percent(self) -> str:
        return "–" if self.value is None else f"{(self.value * 100).quantize(Decimal('0.1'))} %"

    @property
    def target_percent(self) -> str:
        return f"> {(self.target * 100).normalize()} %"


@dataclass(frozen=True)
class BillingStats:
    accounts: list[AccountRow]
    by_tier: dict[str, int]
    conversion: Rate
    payment_success: Rate


async def billing_stats(session: AsyncSession, grace_days: int, now: datetime | None = None) -> BillingStats:
    now = now or utcnow()
    rows = (await session.execute(
        select(User, Subscription).outerjoin(
            Subscription, (Subscription.user_id == User.id) & Subscription.workspace_id.is_(None)).order_by(User.id))).all()
    accounts = []
    for user, sub in rows:
        ents = await entitlements(session, user.id, now, grace_days)
        accounts.append(AccountRow(user.id, user.email, ents.plan_name, sub.plan_code if sub else None,
                                   sub.status if sub else None, bool(sub and sub.trial_used)))
    by_tier: dict[str, int] = {}
    for account in accounts:
        by_tier[account.tier] = by_tier.get(account.tier, 0) + 1

    # Zero invoices (a trial's first one) are not payments: they would flatter both rates.
    charged = Invoice.amount > 0
    trials = (await session.execute(select(func.count()).select_from(Subscription)
                                    .where(Subscription.trial_used.is_(True)))).scalar_one()
    converted = (await session.execute(
        select(func.count(func.distinct(Subscription.user_id))).select_from(Subscription)
        .join(Invoice, Invoice.user_id == Subscription.user_id)
        .where(Subscription.trial_used.is_(True), Invoice.status == "paid", charged))).scalar_one()
    paid = (await session.execute(select(func.count()).select_from(Invoice)
                                  .where(Invoice.status == "paid", charged))).scalar_one()
    failed = (await session.execute(select(func.count()).select_from(Invoice)
                                    .where(Invoice.status == "payment_failed", charged))).scalar_one()
    return BillingStats(
        accounts=accounts, by_tier=by_tier,
        conversion=Rate("Trial-to-paid conversion", converted, trials, CONVERSION_TARGET),
        payment_success=Rate("Payment success", paid, paid + failed, PAYMENT_SUCCESS_TARGET),
    )
