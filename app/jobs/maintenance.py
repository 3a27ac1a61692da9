"""The engine's own upkeep: jobs whose worker died are run again.

A worker sends a heartbeat every ``HEARTBEAT_SECONDS``; one silent for ``STALLED_AFTER_SECONDS`` is
dead (SIGKILL, a lost machine) and its running jobs go back to the queue. Every task is a unit
of work that is safe to run twice, so a retried job finishes what the dead one started.
"""

from __future__ import annotations

import logging

import procrastinate

log = logging.getLogger(__name__)
blueprint = procrastinate.Blueprint()
HEARTBEAT_SECONDS = 5.0
STALLED_AFTER_SECONDS = 20.0
RECOVERY_SECONDS = 10


@blueprint.task(name="retry_stalled", pass_context=True, queueing_lock="jobs:stalled", lock="jobs:stalled")
async def retry_stalled_jobs(context: procrastinate.JobContext, timestamp: int | None = None) -> int:
    manager = context.app.job_manager
    stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_SECONDS)
    for job in stalled:
        log.warning("job %s (%s) lost its worker; queueing it again", job.id, job.task_name)
        await manager.retry_job(job)
    await manager.prune_stalled_workers(seconds_since_heartbeat=STALLED_AFTER_SECONDS)
    return len(stalled)


PERIODIC = ((retry_stalled_jobs, RECOVERY_SECONDS),)
