"""Billing task: move accounts whose trial, period or grace ended to Basic's limits."""

from __future__ import annotations

import logging

import procrastinate

from app.billing.lapses import enforce_lapsed
from app.jobs.resources import resources

log = logging.getLogger(__name__)
blueprint = procrastinate.Blueprint()
LAPSE_SECONDS = 600


@blueprint.task(name="enforce_lapses", pass_context=True, queueing_lock="billing:lapses", lock="billing:lapses")
async def enforce_lapses(context: procrastinate.JobContext, timestamp: int | None = None) -> int:
    res = resources(context)
    lapsed = await enforce_lapsed(res.sessions, res.settings.billing.grace_days)
    if lapsed:
        log.info("billing: %d accounts moved to Basic limits (trial, period or grace ended)", lapsed)
    return lapsed


PERIODIC = ((enforce_lapses, LAPSE_SECONDS),)
