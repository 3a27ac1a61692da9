"""Cost tasks: accrue the last minute's costs, then ask for the budget check (by task name, so
costs never imports notifications)."""

from __future__ import annotations

import logging

import procrastinate

from app.costs.accrual import accrue_costs
from app.jobs.engine import time_limit
from app.jobs.resources import resources

log = logging.getLogger(__name__)
blueprint = procrastinate.Blueprint()
ACCRUAL_SECONDS = 60
BUDGET_CHECK_TASK = "notifications:check_budgets"


@time_limit(120)
@blueprint.task(name="accrue", pass_context=True, queueing_lock="costs:accrue", lock="costs:accrue")
async def accrue(context: procrastinate.JobContext, timestamp: int | None = None) -> int:
    written = await accrue_costs(resources(context).sessions)
    log.debug("costs: %d records written", written)
    # Right after accrual, so the warnings count this minute's costs.
    if BUDGET_CHECK_TASK in context.app.tasks:
        try:
            await context.app.configure_task(BUDGET_CHECK_TASK, queueing_lock="budgets", lock="budgets").defer_async()
        except procrastinate.exceptions.AlreadyEnqueued:
            pass
    return written


PERIODIC = ((accrue, ACCRUAL_SECONDS),)
