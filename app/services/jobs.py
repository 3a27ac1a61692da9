"""Price tasks: poll one source (a unit of work), the fan-out that finds due sources, daily history.

The fan-out runs every ``FAN_OUT_SECONDS`` on every worker's clock (procrastinate defers each
periodic tick once across all workers) and defers a poll for each source whose own interval has
passed since its last attempt, so a restart neither skips nor doubles a source's poll.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import procrastinate
from sqlalchemy import select

from app.db.models import PriceSource as SourceRow
from app.db.types import utcnow
from app.jobs.engine import defer_unique, time_limit
from app.jobs.resources import resources
from app.services.history import refresh_recent_days
from app.services.polling import poll_source
from providers.registry import enabled_source_names, get_source_class

log = logging.getLogger(__name__)
blueprint = procrastinate.Blueprint()
FAN_OUT_SECONDS = 30
HISTORY_SECONDS = 600
RETRY = procrastinate.RetryStrategy(max_attempts=3, exponential_wait=10)


@time_limit(180)
@blueprint.task(name="poll_source", pass_context=True, retry=RETRY)
async def poll_one_source(context: procrastinate.JobContext, name: str) -> str:
    res = resources(context)
    outcome = await poll_source(name, res.settings, res.sessions, res.http)
    # A failure was already logged (as a warning) by the poller.
    log.log(logging.INFO if outcome.status == "ok" else logging.DEBUG, "poll %s: %s (%d offers, %d ms) %s", name,
            outcome.status, outcome.offers, outcome.duration_ms, outcome.error or "")
    return outcome.status


async def due_sources(sessions, names: list[str], now: datetime) -> list[str]:
    async with sessions() as session:
        last = dict((await session.execute(select(SourceRow.name, SourceRow.last_attempt_at)
                                           .where(SourceRow.name.in_(names)))).all())
    due = []
    for name in names:
        try:
            interval = get_source_class(name).POLL_INTERVAL_SECONDS
        except Exception:  # one adapter that cannot load must not stop the others being polled
            log.exception("source %s cannot be loaded; not polling it", name)
            continue
        attempted = last.get(name)
        if attempted is None or now - attempted >= timedelta(seconds=interval):
            due.append(name)
    return due


@blueprint.task(name="fan_out", pass_context=True)
async def fan_out_polls(context: procrastinate.JobContext, timestamp: int | None = None) -> list[str]:
    res = resources(context)
    if not res.settings.polling.enabled:
        return []
    deferred = []
    for name in await due_sources(res.sessions, enabled_source_names(res.settings.sandbox.enabled), utcnow()):
        if await defer_unique(poll_one_source, f"poll:{name}", name=name) is not None:
            deferred.append(name)
    return deferred


@time_limit(120)
@blueprint.task(name="refresh_history", pass_context=True, queueing_lock="history", lock="history")
async def refresh_history(context: procrastinate.JobContext, timestamp: int | None = None) -> int:
    res = resources(context)
    async with res.sessions() as session, session.begin():
        return await refresh_recent_days(session, utcnow())


PERIODIC = ((fan_out_polls, FAN_OUT_SECONDS), (refresh_history, HISTORY_SECONDS))
