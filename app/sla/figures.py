"""The rolling uptime figures the console pages show: load (``loaders``) then compute (``rolling``).

The callers have already scoped the instance or pool to the workspace. Read-only; no network call.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.types import utcnow
from app.settings import get_settings
from app.sla import loaders
from app.sla.rolling import LONGEST, instance_rolling, pool_rolling
from app.sla.uptime import Uptime

RULES = ("Duration-weighted over the time the machine was meant to run: provisioning, stopped "
         "(on request or not) and terminated time is left out. The verdict of each health check holds until "
         "the next check, at most twice the check interval; time with no check that recent is unknown "
         "and counts against uptime. An incident starts at the first failed check and ends at the next "
         "ok check.")
POOL_RULES = "A pool's figure is weighted by node-seconds: every node counts for the time it ran."


def check_interval() -> timedelta:
    # Display only, like the auto-repair panel: the page has no request settings at hand.
    return timedelta(seconds=get_settings().repair.check_interval_seconds)


async def instance_figures(session: AsyncSession, instance_id: int, now: datetime | None = None,
                           interval: timedelta | None = None) -> dict[str, Uptime]:
    now, interval = now or utcnow(), interval or check_interval()
    history = await loaders.load_instance(session, instance_id, now - LONGEST, now, interval)
    return instance_rolling(history, interval, now)


async def pool_figures(session: AsyncSession, pool_id: int, now: datetime | None = None,
                       interval: timedelta | None = None) -> dict[str, Uptime]:
    now, interval = now or utcnow(), interval or check_interval()
    histories = await loaders.load_pool(session, pool_id, now - LONGEST, now, interval)
    return pool_rolling(histories, interval, now)
