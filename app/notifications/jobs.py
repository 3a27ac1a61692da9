"""Notification tasks: deliver the due outbox, and check budgets after each cost accrual.

Delivery stays one batch task: ``deliver_due`` claims each message with a conditional update, so
two workers delivering at once never send a message twice, and Telegram's per-chat pacing needs
the batch's view of what went to each chat.
"""

from __future__ import annotations

import logging

import procrastinate

from app.jobs.engine import time_limit
from app.jobs.resources import resources
from app.notifications.budgets import check_budgets as check_budget_warnings
from app.notifications.dispatch import deliver_due
from app.notifications.hard_limit import enforce_hard_limits

log = logging.getLogger(__name__)
blueprint = procrastinate.Blueprint()
DELIVERY_SECONDS = 15


@time_limit(120)
@blueprint.task(name="deliver", pass_context=True, queueing_lock="outbox", lock="outbox")
async def deliver(context: procrastinate.JobContext, timestamp: int | None = None) -> dict:
    res = resources(context)
    report = await deliver_due(res.sessions, res.senders)
    if report.sent or report.dead or report.retried:
        log.info("outbox: %s", report)
    return {"sent": report.sent, "retried": report.retried, "dead": report.dead, "deferred": report.deferred}


@blueprint.task(name="check_budgets", pass_context=True)
async def check_budgets(context: procrastinate.JobContext) -> int:
    res = resources(context)
    warned = await check_budget_warnings(res.sessions, base_url=res.settings.web.base_url,
                                         telegram_enabled=res.settings.telegram.enabled)
    if warned:
        log.info("budgets: %d cost warnings queued", warned)
    # Then the hard limits: notices at 100 %, and the stops once a notice's grace period is over.
    outcome = await enforce_hard_limits(res.sessions, res.keyring, res.http, base_url=res.settings.web.base_url,
                                        telegram_enabled=res.settings.telegram.enabled)
    if outcome.noticed or outcome.stopped:
        log.info("budgets: %d hard-limit notices, %d instances stopped", outcome.noticed, outcome.stopped)
    return warned


PERIODIC = ((deliver, DELIVERY_SECONDS),)
