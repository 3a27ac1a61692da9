"""An organization's own plan: the 14-day trial it starts with, and the gate of what only an
organization on that plan may do (invitations, projects, more than one organization key).

The plan an organization buys is the cheapest one listing ``organizations`` (Enterprise in the
seed); the trial is once per organization, recorded on its row (``trial_used``) the moment it is
created. After the trial (or a paid period) lapses the organization is on Basic: its members keep
their data and their work, and the org-only actions answer ``FeatureLocked`` naming the plan and
pointing to the organization's billing page."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.entitlements import FeatureLocked, ensure_feature_in, org_billing_url, workspace_entitlements
from app.db.models import Plan, ProviderBinding, Subscription
from app.db.types import utcnow
from app.workspaces.scope import Scope

FEATURE = "organizations"
TRIAL_DAYS = 14


async def organization_plan(session: AsyncSession) -> Plan:
    """The plan organizations subscribe to: the cheapest listing ``organizations``."""
    for plan in (await session.execute(select(Plan).order_by(Plan.rank))).scalars():
        if FEATURE in json.loads(plan.features):
            return plan
    raise LookupError("no plan lists 'organizations': the plans table is missing Enterprise")


async def start_trial(session: AsyncSession, workspace_id: int, user_id: int, now: datetime | None = None) -> Subscription:
    """The new organization's row: trialing the organization plan for ``TRIAL_DAYS``, its creator
    the billing contact. Once per organization: the row is made with the organization, and
    ``trial_used`` is never cleared."""
    now = now or utcnow()
    trial_end = now + timedelta(days=TRIAL_DAYS)
    row = Subscription(workspace_id=workspace_id, user_id=user_id, plan_code=(await organization_plan(session)).code,
                       status="trialing", current_period_end=trial_end, trial_end=trial_end, trial_used=True,
                       cancel_at_period_end=False, updated_at=now)
    session.add(row)
    await session.flush()
    return row


def _grace() -> int:
    from app.settings import get_settings

    return get_settings().billing.grace_days


async def require_organization_plan(session: AsyncSession, scope: Scope) -> None:
    """Org-only actions (invite, create a project): the organization's plan must be in force."""
    await ensure_feature_in(session, scope, FEATURE, _grace())


async def require_room_for_key(session: AsyncSession, scope: Scope) -> None:
    """An organization on Basic keeps the keys it has but adds none beyond the Basic quota."""
    ents = await workspace_entitlements(session, scope, grace_days=_grace())
    limit = ents.quotas.get("bindings")
    if ents.has(FEATURE) or limit is None:
        return
    held = (await session.execute(select(func.count()).select_from(ProviderBinding).where(
        ProviderBinding.workspace_id == scope.workspace_id, ProviderBinding.status != "disabled"))).scalar_one()
    if held >= limit:
        raise FeatureLocked(FEATURE, (await organization_plan(session)).name, org_billing_url(scope.workspace_id))
