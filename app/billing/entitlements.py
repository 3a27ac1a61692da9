"""One gating mechanism for every feature: plans, effective tier, guards and atomic quotas.

- ``entitlements(session, user_id)`` works out a person's own plan in force now (a lapsed trial, a
  canceled subscription or a past_due one beyond the grace period fall back to Basic);
  ``workspace_entitlements(session, scope)`` the plan in force IN a workspace: the person's own in
  their personal workspace, the organization's subscription in an organization (none, or lapsed:
  Basic), never the acting member's plan. Every gate that runs inside a workspace goes through it;
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
from app.workspaces.scope import Scope

BASIC = "basic"
PAID_STATUSES = ("active", "trialing")


PERSONAL_UPGRADE_URL = "/settings/subscription"


def org_billing_url(workspace_id: int) -> str:
    return f"/workspaces/{workspace_id}/billing"


class FeatureLocked(PermissionDeniedException):
    def __init__(self, feature: str, plan_name: str, upgrade_url: str = PERSONAL_UPGRADE_URL) -> None:
        label = FEATURE_LABELS.get(feature, feature)
        whose = "This organization's plan" if upgrade_url != PERSONAL_UPGRADE_URL else None
        super().__init__(f"{label[:1].upper()}{label[1:]} needs the {plan_name} plan"
                         f"{f' ({whose.lower()} lacks it)' if whose else ''}. Upgrade at {upgrade_url}.")
        self.feature = feature
        self.plan_name = plan_name
        self.upgrade_url = upgrade_url


class QuotaExhausted(FeatureLocked):
    def __init__(self, resource: str, limit: int, plan_name: str) -> None:
        PermissionDeniedException.__init__(
            self, f"Your plan allows {limit} {RESOURCE_LABELS.get(resource, resource)}. "
                  f"The {plan_name} plan has no limit: upgrade at /settings/subscription.")
        self.feature = resource
        self.plan_name = plan_name
        self.upgrade_url = PERSONAL_UPGRADE_URL


FEATURE_LABELS = {
    "prices": "GPU price pages and API", "deployments": "Deployment management",
    "unlimited_bindings": "More than one provider binding", "templates": "Deployment templates",
    "batch": "Batch actions", "auto_repair": "Auto-repair", "notifications": "Notifications",
    "price_history": "Full price history", "migration": "Migration between providers with rollback (API)",
    "organizations": "Organizations: invitations, projects and more than one organization key",
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
    workspace_id: int | None = None
    """The organization these are for; None: a person's own plan."""

    @property
    def upgrade_url(self) -> str:
        return org_billing_url(self.workspace_id) if self.workspace_id is not None else PERSONAL_UPGRADE_URL

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


def personal_subscription(user_id: int):
    """The query of a person's own row (an organization's row names them as its billing contact)."""
    return select(Subscription).where(Subscription.user_id == user_id, Subscription.workspace_id.is_(None))


def organization_subscription(workspace_id: int):
    return select(Subscription).where(Subscription.workspace_id == workspace_id)


async def _of(session: AsyncSession, sub: Subscription | None, now: datetime | None, grace_days: int,
              workspace_id: int | None) -> Entitlements:
    now = now or utcnow()
    plans = await _plans(session)
    code, grace_until = _effective_plan(sub, now, timedelta(days=grace_days))
    plan = plans[code]
    return Entitlements(
        plan_code=code, plan_name=plan.name, status=sub.status if sub else "active",
        features=frozenset(json.loads(plan.features)), quotas=json.loads(plan.quotas),
        subscribed_plan=sub.plan_code if sub else BASIC, grace_until=grace_until, workspace_id=workspace_id,
    )


async def entitlements(session: AsyncSession, user_id: int, now: datetime | None = None,
                       grace_days: int = 7) -> Entitlements:
    """A person's own plan (what their personal workspace and account-wide pages get)."""
    sub = (await session.execute(personal_subscription(user_id))).scalar_one_or_none()
    return await _of(session, sub, now, grace_days, None)


async def organization_entitlements(session: AsyncSession, workspace_id: int, now: datetime | None = None,
                                    grace_days: int = 7) -> Entitlements:
    """The organization's plan: its own subscription (none, or lapsed: Basic), whoever acts in it."""
    sub = (await session.execute(organization_subscription(workspace_id))).scalar_one_or_none()
    return await _of(session, sub, now, grace_days, workspace_id)


async def workspace_entitlements(session: AsyncSession, scope: Scope, now: datetime | None = None,
                                 grace_days: int = 7) -> Entitlements:
    """The plan in force inside ``scope``'s workspace (see the module docstring)."""
    if scope.is_org:
        return await organization_entitlements(session, scope.workspace_id, now, grace_days)
    return await entitlements(session, scope.user_id, now, grace_days)


async def has_feature(session: AsyncSession, user_id: int, feature: str, now: datetime | None = None,
                      grace_days: int = 7) -> bool:
    return (await entitlements(session, user_id, now, grace_days)).has(feature)


async def has_feature_in(session: AsyncSession, scope: Scope, feature: str, now: datetime | None = None,
                         grace_days: int = 7) -> bool:
    return (await workspace_entitlements(session, scope, now, grace_days)).has(feature)


async def cheapest_plan_with(session: AsyncSession, feature: str, *, for_organization: bool = False) -> str:
    """The name of the cheapest plan listing ``feature``; ``for_organization``: among the plans an
    organization can buy (those listing ``organizations``)."""
    _built(feature)
    for plan in (await _plans(session)).values():
        listed = json.loads(plan.features)
        if feature in listed and (not for_organization or "organizations" in listed):
            return plan.name
    return "a higher"


async def _ensure(session: AsyncSession, ents: Entitlements, feature: str) -> Entitlements:
    if not ents.has(feature):
        needed = await cheapest_plan_with(session, feature, for_organization=ents.workspace_id is not None)
        raise FeatureLocked(feature, needed, ents.upgrade_url)
    return ents


async def ensure_feature(session: AsyncSession, user_id: int, feature: str, grace_days: int = 7) -> Entitlements:
    """A person's own plan must include ``feature`` (account-wide pages: alerts, price history)."""
    return await _ensure(session, await entitlements(session, user_id, grace_days=grace_days), feature)


async def ensure_feature_in(session: AsyncSession, scope: Scope, feature: str, grace_days: int = 7) -> Entitlements:
    """The plan in force in ``scope``'s workspace must include ``feature``; the refusal points to the
    organization's billing page in an organization, to the personal one elsewhere."""
    return await _ensure(session, await workspace_entitlements(session, scope, grace_days=grace_days), feature)


async def request_scope(connection: ASGIConnection, session: AsyncSession) -> Scope:
    """The workspace a request acts in, by the rules of ``access.require_permission``: the one in
    the path, else the one chosen in the header switcher, else the personal one."""
    from litestar.exceptions import NotAuthorizedException

    from app.workspaces.current import SESSION_WORKSPACE, scope_for
    from app.workspaces.scope import membership

    user_id = connection.session.get("uid") if connection.scope.get("session") is not None else None
    if not user_id:
        raise NotAuthorizedException("log in to continue")
    in_path = connection.path_params.get("workspace_id")
    if in_path is not None:
        return await membership(session, int(user_id), int(in_path))
    return await scope_for(session, int(user_id), connection.session.get(SESSION_WORKSPACE))


def require_feature(feature: str):
    """Litestar guard: the plan in force in the workspace the request acts in must include ``feature``."""
    _built(feature)

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        grace = connection.app.state.settings.billing.grace_days
        async with connection.app.state.sessions() as session:
            await ensure_feature_in(session, await request_scope(connection, session), feature, grace)

    guard.__name__ = f"require_feature_{feature}"
    return guard


def require_subscription(plan_code: str):
    """Litestar guard by tier: ``require_subscription("pro")`` admits Pro and above."""

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        async with connection.app.state.sessions() as session:
            plans = await _plans(session)
            ents = await workspace_entitlements(session, await request_scope(connection, session),
                                                grace_days=connection.app.state.settings.billing.grace_days)
            if plans[ents.plan_code].rank < plans[plan_code].rank:
                raise FeatureLocked("this page", plans[plan_code].name, ents.upgrade_url)

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
