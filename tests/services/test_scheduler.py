"""The worker's schedule: one poll job per source on the source's own interval, never stacked."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker

from app.jobs.scheduler import HISTORY_JOB_MINUTES, build_scheduler
from app.settings import PollingSettings


def job_table(scheduler) -> dict[str, tuple]:
    return {
        job.id: (job.args, job.trigger.interval, job.max_instances, job.coalesce)
        for job in scheduler.get_jobs()
    }


async def test_one_job_per_registered_source_with_its_interval(settings, fake_registry):
    scheduler, jobs = build_scheduler(settings, async_sessionmaker())
    scheduler.start(paused=True)  # applies the job defaults; paused, so nothing runs
    try:
        table = job_table(scheduler)
    finally:
        scheduler.shutdown(wait=False)
        await jobs.close()
    polls = {job_id: row for job_id, row in table.items() if job_id.startswith("poll:")}
    assert polls == {
        "poll:fake-alpha": (("fake-alpha",), timedelta(seconds=600), 1, True),
        "poll:fake-beta": (("fake-beta",), timedelta(seconds=3600), 1, True),
        "poll:fake-keyed": (("fake-keyed",), timedelta(seconds=900), 1, True),
        "poll:lambdalabs": (("lambdalabs",), timedelta(seconds=900), 1, True),
        # "fake-missing" cannot be imported: it is left out, the others still run.
    }
    assert table["history:daily"] == ((), timedelta(minutes=HISTORY_JOB_MINUTES), 1, True)
    # No job of any kind can stack runs behind a stalled one.
    assert {(max_instances, coalesce) for _, _, max_instances, coalesce in table.values()} == {(1, True)}


async def test_polling_disabled_keeps_only_the_history_job(settings, fake_registry):
    off = dataclasses.replace(settings, polling=PollingSettings(enabled=False))
    scheduler, jobs = build_scheduler(off, async_sessionmaker())
    scheduler.start(paused=True)
    try:
        jobs_ids = list(job_table(scheduler))
        assert "history:daily" in jobs_ids
        assert not [j for j in jobs_ids if j.startswith("poll:")]
    finally:
        scheduler.shutdown(wait=False)
        await jobs.close()
