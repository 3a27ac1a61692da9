"""Plan limits on what an account already has: provider bindings over the quota are disabled on a
downgrade (never removed) and enabled again when the plan has room.

``apply_plan_limits`` runs in the transaction that changes the subscription, so the bindings, the
quota counter and the plan never disagree once it commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.entitlements import Entitlements, entitlements, release_quota, set_quota_usage, take_quota
from app.db.models import ProviderBinding, Workspace

BINDINGS = "bindings"
DISABLED_BY_PLAN = "Disabled by the plan change: "
"""Prefix of the status message of a binding this module disabled (and may enable again)."""
REENABLED_MESSAGE = "Enabled again by your plan: check the key to use it."


def disabled_message(ents: Entitlements, limit: int) -> str:
    return (f"{DISABLED_BY_PLAN}the {ents.plan_name} plan allows {limit} provider binding"
            f"{'' if limit == 1 else 's'}. Nothing was deleted: upgrade at /settings/subscription to use it "
            f"again, or remove another binding to make room.")


def counts_against_quota(row: ProviderBinding) -> bool:
    return row.status != "disabled"


async def take_binding_slot(session: AsyncSession, user_id: int, grace_days: int = 7) -> None:
    """One more binding for this account, or ``QuotaExhausted`` naming the plan that allows it."""
    await take_quota(session, user_id, BINDINGS, await entitlements(session, user_id, grace_days=grace_days))


async def release_binding_slot(session: AsyncSession, row: ProviderBinding) -> None:
    """Call when removing ``row``; a disabled binding held no slot."""
    if counts_against_quota(row):
        await release_quota(session, row.user_id, BINDINGS)


async def apply_plan_limits(session: AsyncSession, user_id: int, *, now: datetime | None = None,
                            grace_days: int = 7) -> Entitlements:
    """Fit the account's bindings to the plan in force now; the caller commits."""
    ents = await entitlements(session, user_id, now, grace_days)
    limit = ents.quotas.get(BINDINGS)
    rows = list((await session.execute(
        select(ProviderBinding).where(ProviderBinding.user_id == user_id)
        # Personal keys only: an organization's keys are the organization's, not this person's quota.
        .where(ProviderBinding.workspace.has(Workspace.kind == "personal"))
        .order_by(ProviderBinding.created_at, ProviderBinding.id))).scalars())
    enabled = [r for r in rows if counts_against_quota(r)]
    if limit is not None and len(enabled) > limit:
        # Keep the working keys first, then the oldest: the ones the user relies on.
        keep = set(id(r) for r in sorted(enabled, key=lambda r: r.status != "verified")[:limit])
        for row in enabled:
            if id(row) not in keep:
                row.status, row.status_message = "disabled", disabled_message(ents, limit)
    else:
        room = len(rows) if limit is None else limit - len(enabled)
        ours = [r for r in rows if r.status == "disabled" and (r.status_message or "").startswith(DISABLED_BY_PLAN)]
        for row in ours[:max(room, 0)]:
            # The key was not checked while disabled: the user checks it again before use.
            row.status, row.status_message = "unverified", REENABLED_MESSAGE
    await session.flush()
    await set_quota_usage(session, user_id, BINDINGS, sum(1 for r in rows if counts_against_quota(r)))
    return ents
