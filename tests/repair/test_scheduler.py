"""The auto-repair job is scheduled on its setting, one run at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from app.jobs.scheduler import build_scheduler
from app.settings import RepairSettings


def test_the_job_runs_every_check_interval_one_at_a_time(settings):
    for seconds in (30, 45):
        scheduler, _ = build_scheduler(replace(settings, repair=RepairSettings(check_interval_seconds=seconds)), None)
        job = scheduler.get_job("repair:check")
        assert job.trigger.interval == timedelta(seconds=seconds)
        assert (job.max_instances, job.coalesce) == (1, True)


def test_the_default_interval_is_30_seconds(monkeypatch):
    monkeypatch.delenv("COMPUTEHUB_REPAIR_CHECK_SECONDS", raising=False)
    assert RepairSettings().check_interval_seconds == 30
    monkeypatch.setenv("COMPUTEHUB_REPAIR_CHECK_SECONDS", "60")
    monkeypatch.setenv("COMPUTEHUB_REPAIR_MAX_ATTEMPTS", "3")
    assert (RepairSettings().check_interval_seconds, RepairSettings().max_attempts) == (60, 3)
