"""The engine's own upkeep: jobs whose worker died are run again.

A worker sends a heartbeat every ``HEARTBEAT_SECONDS``; one silent for ``STALLED_AFTER_SECONDS`` is
dead (SIGKILL, a lost machine) and its running jobs go back to the queue. Every task is a unit
of work that is safe to run twice, so a retried job finishes what the dead one started.

A dead job whose unit is already waiting again (the fan-out queued the next run while it ran)
cannot go back to the queue (one waiting job per unit): it is closed as failed instead, which
frees its lock, and the waiting job does the work.
"""

from __future__ import annotations

import logging

import procrastinate
from procrastinate.exceptions import UniqueViolation
from procrastinate.jobs import Status

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
        try:
            await manager.retry_job(job)
            log.warning("job %s (%s) lost its worker; queued again", job.id, job.task_name)
        except UniqueViolation:
            # Left 'doing', its lock would hold the waiting job of the same unit back for ever.
            await manager.finish_job(job, Status.FAILED, delete_job=False)
            log.warning("job %s (%s) lost its worker; its unit is already queued again, so it is closed",
                        job.id, job.task_name)
    await manager.prune_stalled_workers(seconds_since_heartbeat=STALLED_AFTER_SECONDS)
    return len(stalled)


PERIODIC = ((retry_stalled_jobs, RECOVERY_SECONDS),)
