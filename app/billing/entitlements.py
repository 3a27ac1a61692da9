"""One gating mechanism for every feature: plans, effective tier, guards and atomic quotas.

- ``entitlements(session, user_id)`` works out the plan in force now (a lapsed trial, a
  canceled subscription or a past_due one beyond the grace period fall back to Basic);
- ``has_feature`` answers yes/no; ``require_feature``/``require_subscription`` are Litestar
  guards; a refusal is ``FeatureLocked`` (403 in the API, an upgrade page in the UI), naming
  the plan needed;
- ``take_quota`` is one conditional UPDATE, so two concurrent requests can never both take
  the last slot, on SQLite or PostgreSQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Plan, Subscription
from app.db.types import utcnow

BASIC = "basic"
PAID_STATUSES = ("active", "trialing")


class FeatureLocked(PermissionDeniedException):
    def __init__(self, feature: str, plan_name: str) -> None:
        label = FEATURE_LABELS.get(feature, feature)
        super().__init__(f"{label[:1].upper()}{label[1:]} needs the {plan_name} plan. "
                         f"Upgrade at /settings/subscription.")
        self.feature = feature
        self.plan_name = plan_name


class QuotaExhausted(FeatureLocked):
    def __init__(self, resource: str, limit: int, plan_name: str) -> None:
        PermissionDeniedException.__init__(
            self, f"Your plan allows {limit} {RESOURCE_LABELS.get(resource, resource)}. "
                  f"The {plan_name} plan has no limit: upgrade at /settings/subscription.")
        self.feature = resource
        self.plan_name = plan_name


FEATURE_LABELS = {
    "prices": "GPU price pages and API", "deployments": "Deployment management",
    "unlimited_bindings": "More than one provider binding", "templates": "Deployment templates",
    "batch": "Batch actions", "auto_repair": "Auto-repair", "notifications": "Notifications",
    "price_history": "Full price history", "migration": "Migration between providers with rollback (API)",
}
BUILT_FEATURES = tuple(FEATURE_LABELS)
"""The features the code has today, in the order the plans page lists them: every gate below
refuses any other name, so a plan can only show or sell what a check actually enforces. The
plans table may name planned features too (the seed did: migration, organizations, ...); they
stay hidden until their code and its gate land here."""
RESOURCE_LABELS = {"bindings": "provider binding(s)", "price_alerts": "price alert(s)"}


@dataclass(frozen=True)
class Entitlements:
    plan_code: str
    plan_name: str
    status: str
    features: frozenset[str]
    quotas: dict[str, int | None]
    subscribed_plan: str
    """The plan paid for (may differ from ``plan_code`` when it lapsed)."""
    grace_until: datetime | None = None

    def has(self, feature: str) -> bool:
        return feature in self.features and _built(feature)


def _built(feature: str) -> bool:
    if feature not in BUILT_FEATURES:
        raise ValueError(f"{feature!r} is not a built feature: add it to BUILT_FEATURES with its gate")
    return True


async def _plans(session: AsyncSession) -> dict[str, Plan]:
    return {p.code: p for p in (await session.execute(select(Plan).order_by(Plan.rank))).scalars()}


def _effective_plan(sub: Subscription | None, now: datetime, grace: timedelta) -> tuple[str, datetime | None]:
    if sub is None:
        return BASIC, None
    if sub.status == "trialing" and sub.trial_end is not None and sub.trial_end < now:
        return BASIC, None
    if sub.status in PAID_STATUSES:
        if sub.cancel_at_period_end and sub.current_period_end is not None and sub.current_period_end < now:
            return BASIC, None
        return sub.plan_code, None
    if sub.status == "past_due":
        until = (sub.past_due_since or now) + grace
        return (sub.plan_code, until) if now <= until else (BASIC, None)
    return BASIC, None


async def entitlements(session: AsyncSession, user_id: int, now: datetime | None = None,
                       grace_days: int = 7) -> Entitlements:
    now = now or utcnow()
    plans = await _plans(session)
    sub = (await session.execute(select(Subscription).where(Subscription.user_id == user_id))).scalar_one_or_none()
    code, grace_until = _effective_plan(sub, now, timedelta(days=grace_days))
    plan = plans[code]
    return Entitlements(
        plan_code=code, plan_name=plan.name, status=sub.status if sub else "active",
        features=frozenset(json.loads(plan.features)), quotas=json.loads(plan.quotas),
        subscribed_plan=sub.plan_code if sub else BASIC, grace_until=grace_until,
    )


async def has_feature(session: AsyncSession, user_id: int, feature: str, now: datetime | None = None,
                      grace_days: int = 7) -> bool:
    return (await entitlements(session, user_id, now, grace_days)).has(feature)


async def cheapest_plan_with(session: AsyncSession, feature: str) -> str:
    _built(feature)
    for plan in (await _plans(session)).values():
        if feature in json.loads(plan.features):
            return plan.name
    return "a higher"


async def ensure_feature(session: AsyncSession, user_id: int, feature: str, grace_days: int = 7) -> Entitlements:
    ents = await entitlements(session, user_id, grace_days=grace_days)
    if not ents.has(feature):
        raise FeatureLocked(feature, await cheapest_plan_with(session, feature))
    return ents


def require_feature(feature: str):
    """Litestar guard: the logged-in account's plan must include ``feature``."""
    _built(feature)

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        user_id = connection.session.get("uid") if connection.scope.get("session") is not None else None
        if not user_id:
            from litestar.exceptions import NotAuthorizedException

            raise NotAuthorizedException("log in to continue")
        grace = connection.app.state.settings.billing.grace_days
        async with connection.app.state.sessions() as session:
            await ensure_feature(session, int(user_id), feature, grace)

    guard.__name__ = f"require_feature_{feature}"
    return guard


def require_subscription(plan_code: str):
    """Litestar guard by tier: ``require_subscription("pro")`` admits Pro and above."""

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        user_id = connection.session.get("uid") if connection.scope.get("session") is not None else None
        if not user_id:
            from litestar.exceptions import NotAuthorizedException

            raise NotAuthorizedException("log in to continue")
        async with connection.app.state.sessions() as session:
            plans = await _plans(session)
            ents = await entitlements(session, int(user_id), grace_days=connection.app.state.settings.billing.grace_days)
            if plans[ents.plan_code].rank < plans[plan_code].rank:
                raise FeatureLocked("this page", plans[plan_code].name)

    guard.__name__ = f"require_subscription_{plan_code}"
    return guard


async def take_quota(session: AsyncSession, user_id: int, resource: str, ents: Entitlements) -> None:
    """Count one more ``resource`` against the plan's limit, atomically; the caller commits."""
    limit = ents.quotas.get(resource)
    await session.execute(
        text("INSERT INTO quota_usage (user_id, resource, used) VALUES (:u, :r, 0) "
             "ON CONFLICT (user_id, resource) DO NOTHING"), {"u": user_id, "r": resource})
    if limit is None:
        await session.execute(text("UPDATE quota_usage SET used = used + 1 WHERE user_id = :u AND resource = :r"),
                              {"u": user_id, "r": resource})
        return
    taken = await session.execute(
        text("UPDATE quota_usage SET used = used + 1 WHERE user_id = :u AND resource = :r AND used < :limit"),
        {"u": user_id, "r": resource, "limit": limit})
    if taken.rowcount != 1:
        raise QuotaExhausted(resource, limit, await _next_plan_name(session, ents.plan_code))


async def release_quota(session: AsyncSession, user_id: int, resource: str) -> None:
    await session.execute(
        text("UPDATE quota_usage SET used = used - 1 WHERE user_id = :u AND resource = :r AND used > 0"),
        {"u": user_id, "r": resource})


async def set_quota_usage(session: AsyncSession, user_id: int, resource: str, used: int) -> None:
    await session.execute(
        text("INSERT INTO quota_usage (user_id, resource, used) VALUES (:u, :r, :n) "
             "ON CONFLICT (user_id, resource) DO UPDATE SET used = :n"), {"u": user_id, "r": resource, "n": used})


async def _next_plan_name(session: AsyncSession, code: str) -> str:
    plans = list((await _plans(session)).values())
    ranks = [p for p in plans if p.rank > next(p.rank for p in plans if p.code == code)]
    return ranks[0].name if ranks else plans[-1].name
