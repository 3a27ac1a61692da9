"""The accrual job is scheduled every minute, one run at a time, missed runs coalesced."""

from __future__ import annotations

from datetime import timedelta

from app.jobs.scheduler import build_scheduler
from app.settings import PollingSettings, Settings


def test_cost_accrual_runs_every_minute_one_at_a_time(sessions):
    scheduler, _ = build_scheduler(Settings(polling=PollingSettings(enabled=False)), sessions)
    job = scheduler.get_job("costs:accrue")
    assert job is not None
    assert job.trigger.interval == timedelta(seconds=60)
    assert job.max_instances == 1 and job.coalesce is True
