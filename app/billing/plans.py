"""The plans table (seeded by a migration) and the Stripe price id of each paid plan."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

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

    @property
    def is_paid(self) -> bool:
        return self.monthly_price > 0


async def all_plans(session: AsyncSession) -> dict[str, PlanView]:
    """Every plan by code, cheapest tier first."""
    rows = (await session.execute(select(Plan).order_by(Plan.rank))).scalars()
    return {p.code: PlanView(p.code, p.name, p.rank, p.monthly_price, tuple(json.loads(p.features)),
                             json.loads(p.quotas), p.stripe_price_setting) for p in rows}


def price_id(billing: BillingSettings, plan: PlanView) -> str:
    return billing.price_id(plan.stripe_price_setting)


def plan_for_price(plans: dict[str, PlanView], billing: BillingSettings, price: str | None) -> str | None:
    """Which of our plans a Stripe price id belongs to (None: a price we do not sell)."""
    for plan in plans.values():
        if price and plan.stripe_price_setting and price_id(billing, plan) == price:
            return plan.code
    return None
