"""Paid plans that end by the clock, with no event to say so: a trial that ran out, a period that
ended after a cancellation, a payment overdue beyond the grace period. Features follow at once
(``entitlements`` reads the clock); this job makes the bindings follow too."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.billing.entitlements import BASIC, entitlements
from app.billing.limits import apply_plan_limits
from app.billing.records import LIVE_STATUSES, subscription_of
from app.db.models import Subscription
from app.db.types import utcnow


async def enforce_lapsed(sessions: async_sessionmaker[AsyncSession], grace_days: int,
                         now: datetime | None = None) -> int:
    """Apply the Basic limits to every account whose paid plan lapsed; returns how many."""
    now = now or utcnow()
    lapsed = or_(
        and_(Subscription.status == "trialing", Subscription.trial_end < now),
        and_(Subscription.status == "past_due", Subscription.past_due_since < now - timedelta(days=grace_days)),
        and_(Subscription.cancel_at_period_end.is_(True), Subscription.current_period_end < now),
    )
    async with sessions() as session:
        user_ids = list((await session.execute(select(Subscription.user_id).where(
            Subscription.status.in_(LIVE_STATUSES), Subscription.workspace_id.is_(None), lapsed))).scalars())
    # An organization's lapsed plan needs nothing applied: its gates read the row (data is kept).
    done = 0
    for user_id in user_ids:
        async with sessions() as session, session.begin():
            row = await subscription_of(session, user_id, lock=True)
            if row is None or row.status not in LIVE_STATUSES:
                continue
            if (await entitlements(session, user_id, now, grace_days)).plan_code != BASIC:
                continue  # renewed meanwhile
            if not row.stripe_subscription_id:
                # A local subscription has no Stripe to end it: it ends here.
                row.status, row.updated_at = "canceled", now
                await session.flush()
            await apply_plan_limits(session, user_id, now=now, grace_days=grace_days)
            done += 1
    return done
