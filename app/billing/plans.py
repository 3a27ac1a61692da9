"""The plans table (seeded by a migration) and the Stripe price id of each paid plan."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.entitlements import BUILT_FEATURES

ORGANIZATIONS = "organizations"
from app.db.models import Plan
from app.settings import BillingSettings


@dataclass(frozen=True)
class PlanView:
    code: str
    name: str
    rank: int
    monthly_price: Decimal
    features: tuple[str, ...]
    quotas: dict[str, int | None]
    stripe_price_setting: str | None
    same_as: str | None = None
    """The name of a cheaper plan that gives everything this one does (then it is not sold)."""

    @property
    def is_paid(self) -> bool:
        return self.monthly_price > 0

    @property
    def for_organizations(self) -> bool:
        """Sold to an organization (its own subscription, on its billing page), never to a person."""
        return ORGANIZATIONS in self.features

    @property
    def on_sale(self) -> bool:
        """A paid plan is sold only while it delivers something a cheaper plan does not."""
        return self.is_paid and self.same_as is None


def _more(quota: int | None, than: int | None) -> bool:
    return than is not None and (quota is None or quota > than)


def _adds_something(plan: PlanView, cheaper: PlanView) -> bool:
    return (bool(set(plan.features) - set(cheaper.features))
            or any(_more(limit, cheaper.quotas.get(name, 0)) for name, limit in plan.quotas.items()))


async def all_plans(session: AsyncSession) -> dict[str, PlanView]:
    """Every plan by code, cheapest tier first, with only the features that are built."""
    plans: dict[str, PlanView] = {}
    for row in (await session.execute(select(Plan).order_by(Plan.rank))).scalars():
        listed = set(json.loads(row.features))
        plan = PlanView(row.code, row.name, row.rank, row.monthly_price,
                        tuple(f for f in BUILT_FEATURES if f in listed), json.loads(row.quotas),
                        row.stripe_price_setting)
        same = next((p.name for p in plans.values() if not _adds_something(plan, p)), None)
        plans[row.code] = replace(plan, same_as=same) if same and plan.is_paid else plan
    return plans


def price_id(billing: BillingSettings, plan: PlanView) -> str:
    return billing.price_id(plan.stripe_price_setting)


def plan_for_price(plans: dict[str, PlanView], billing: BillingSettings, price: str | None) -> str | None:
    """Which of our plans a Stripe price id belongs to (None: a price we do not sell)."""
    for plan in plans.values():
        if price and plan.stripe_price_setting and price_id(billing, plan) == price:
            return plan.code
    return None
