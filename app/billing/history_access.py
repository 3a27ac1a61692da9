"""Price history beyond 30 days is a Pro feature ("price_history").

Enforced where the API serves history by date (the GPU pages show the public 30 days):
``days`` of ``GET /api/v1/gpus/{slug}/history`` and ``since`` of ``GET /api/v1/history``. Up to
30 days stays public; more needs a logged-in session whose plan has ``price_history``.
Anonymous callers and Basic accounts asking for more get 403 naming the Pro plan; the change
events without ``since`` are the last 30 days for them.
"""

from __future__ import annotations

from datetime import date, timedelta

from litestar import Request

from app.billing.entitlements import FeatureLocked, cheapest_plan_with, ensure_feature, has_feature
from app.db.types import utcnow

PUBLIC_HISTORY_DAYS = 30
FEATURE = "price_history"


def session_user_id(request: Request) -> int | None:
    uid = request.session.get("uid") if request.scope.get("session") else None
    return int(uid) if uid else None


async def ensure_history_window(request: Request, days: int) -> None:
    if days <= PUBLIC_HISTORY_DAYS:
        return
    user_id = session_user_id(request)
    async with request.app.state.sessions() as session:
        if user_id is None:
            raise FeatureLocked(FEATURE, await cheapest_plan_with(session, FEATURE))
        await ensure_feature(session, user_id, FEATURE, request.app.state.settings.billing.grace_days)


async def history_start(request: Request, since: date | None) -> date | None:
    """The first day of change events to serve: ``since`` if allowed; for callers without full
    history, no ``since`` means the public 30 days, and an older ``since`` is refused (403)."""
    public_start = utcnow().date() - timedelta(days=PUBLIC_HISTORY_DAYS - 1)
    if since is not None and since >= public_start:
        return since
    user_id = session_user_id(request)
    async with request.app.state.sessions() as session:
        if user_id is not None and await has_feature(session, user_id, FEATURE,
                                                     grace_days=request.app.state.settings.billing.grace_days):
            return since
        if since is None:
            return public_start
        raise FeatureLocked(FEATURE, await cheapest_plan_with(session, FEATURE))
