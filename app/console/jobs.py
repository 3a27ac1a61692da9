"""Console tasks: sync one binding with its provider (a unit of work) and the fan-out over bindings.

The unit is keyed by binding, so one key's calls to its provider never run beside each other
(the provider's rate limit is per key); the lease inside ``sync_binding`` still guards a sync
started from a page ("Sync now") against one the worker runs.
"""

from __future__ import annotations

import logging

import procrastinate
from sqlalchemy import select

from app.console.sync import sync_binding
from app.db.models import ProviderBinding
from app.jobs.engine import defer_unique, time_limit
from app.jobs.resources import resources

log = logging.getLogger(__name__)
blueprint = procrastinate.Blueprint()
SYNC_SECONDS = 30
RETRY = procrastinate.RetryStrategy(max_attempts=3, exponential_wait=5)


def binding_unit(binding_id: int) -> str:
    return f"binding:{binding_id}"


@time_limit(240)
@blueprint.task(name="sync_binding", pass_context=True, retry=RETRY)
async def sync_one_binding(context: procrastinate.JobContext, binding_id: int) -> dict:
    res = resources(context)
    report = await sync_binding(res.sessions, res.keyring, res.http, binding_id)
    if report.error or report.adopted or report.discovered or report.failed_launches:
        log.info("sync binding %s: %s", binding_id, report)
    return {"updated": report.updated, "adopted": report.adopted, "discovered": report.discovered,
            "gone": report.gone, "failed_launches": report.failed_launches, "error": report.error}


@blueprint.task(name="fan_out", pass_context=True)
async def fan_out_syncs(context: procrastinate.JobContext, timestamp: int | None = None) -> int:
    res = resources(context)
    async with res.sessions() as session:
        ids = list((await session.execute(select(ProviderBinding.id).where(
            ProviderBinding.status.not_in(("disabled", "invalid"))).order_by(ProviderBinding.id))).scalars())
    deferred = 0
    for binding_id in ids:
        deferred += await defer_unique(sync_one_binding, binding_unit(binding_id), binding_id=binding_id) is not None
    return deferred


PERIODIC = ((fan_out_syncs, SYNC_SECONDS),)
