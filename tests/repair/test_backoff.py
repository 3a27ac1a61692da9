"""A provider that keeps failing: attempts follow the backoff exactly, then one give-up message."""

from __future__ import annotations

from datetime import timedelta

from app.repair import policy
from app.repair.jobs import run_repair_cycle
from providers.base import SupportsReboot, SupportsStart
from providers.lambdalabs import LambdaSource
from providers.sandbox import SandboxProvider
from tests.repair.support import actions, messages, reload, run_cycle, watched_instance

CHECK_EVERY = timedelta(seconds=30)


def test_the_schedule_is_1_2_5_10_30_minutes():
    assert policy.BACKOFF_MINUTES == (1, 2, 5, 10, 30)
    assert [policy.wait_after(n) for n in range(1, 8)] == [timedelta(minutes=m) for m in (1, 2, 5, 10, 30, 30, 30)]


def test_the_gentlest_step_the_provider_allows():
    assert not issubclass(LambdaSource, SupportsStart) and issubclass(LambdaSource, SupportsReboot)
    assert policy.choose_step(policy.FAILED, SandboxProvider) == "start"
    assert policy.choose_step(policy.STOPPED, SandboxProvider) == "start"
    assert policy.choose_step(policy.ENDPOINT, SandboxProvider) == "reboot"
    assert policy.choose_step(policy.GONE, SandboxProvider) == "replace"
    assert policy.choose_step(policy.FAILED, LambdaSource) == "replace"  # Lambda cannot start an instance
    assert policy.choose_step(policy.ENDPOINT, LambdaSource) == "reboot"
    assert policy.choose_step(policy.FAILED, None) == "replace"


async def test_every_boot_fails_attempts_follow_the_backoff_then_one_give_up(sessions, keyring, http, cloud, clock,
                                                                            settings, pro):
    assert settings.repair.max_attempts == 5
    row = await watched_instance(sessions, keyring, http, clock, settings, pro)
    # It crashes, and from now on every start of it ends in error.
    cloud.set_faults(pro.api_key, crash_after_seconds=0, fail_boot=True)
    assert cloud.get_instance(pro.api_key, row.provider_instance_id)["status"] == "crashed"
    t0 = clock()

    while clock() <= t0 + timedelta(minutes=60):  # the job every 30 s for an hour
        await run_cycle(sessions, keyring, http, settings, clock)
        clock.advance(CHECK_EVERY.total_seconds())

    steps = await actions(sessions, row.id)
    assert [(a.attempt, a.action, a.result) for a in steps] == [
        (1, "start", "ok"), (2, "start", "ok"), (3, "start", "ok"), (4, "start", "ok"), (5, "start", "ok"),
        (5, "give_up", "failed")]
    minutes = [(a.at - t0) / timedelta(minutes=1) for a in steps]
    assert minutes == [0, 1, 3, 8, 18, 48]
    assert [b - a for a, b in zip(minutes, minutes[1:])] == [1, 2, 5, 10, 30]
    assert cloud.get_instance(pro.api_key, row.provider_instance_id)["status"] == "error"

    row = await reload(sessions, row.id)
    assert (row.repair_state, row.repair_attempts, row.next_repair_at) == ("gave_up", 5, None)
    [gave_up] = await messages(sessions, "failure")
    assert (gave_up.user_id, gave_up.channel, gave_up.destination) == (pro.user_id, "email", pro.email)
    assert gave_up.subject == "Auto-repair gave up on gpu-1"
    assert "after 5 repair attempts" in gave_up.body_text
    assert gave_up.body_text.rstrip().endswith(f"/console/instances/{row.id}")
    assert len(await messages(sessions, "repair")) == 5  # one per attempt

    # Given up means given up: later checks add neither attempts nor messages.
    for _ in range(4):
        clock.advance(timedelta(minutes=30).total_seconds())
        await run_repair_cycle(sessions, keyring, http, settings, now=clock())
    assert len(await actions(sessions, row.id)) == 6
    assert len(await messages(sessions, "failure")) == 1


async def test_a_provider_api_that_keeps_failing_ends_in_one_give_up(sessions, keyring, http, cloud, clock,
                                                                    settings, pro):
    row = await watched_instance(sessions, keyring, http, clock, settings, pro)
    cloud.set_faults(pro.api_key, api_error_rate=1.0)  # every call answers 500
    t0 = clock()

    while clock() <= t0 + timedelta(minutes=90):
        await run_cycle(sessions, keyring, http, settings, clock)
        clock.advance(CHECK_EVERY.total_seconds())

    steps = await actions(sessions, row.id)
    # Unanswered for the grace period (5 min) first; then reboots the provider never accepts.
    grace = timedelta(seconds=settings.repair.unknown_grace_seconds) / timedelta(minutes=1)
    assert [(a.action, a.result) for a in steps] == [("reboot", "failed")] * 5 + [("give_up", "failed")]
    assert [(a.at - t0) / timedelta(minutes=1) - grace for a in steps] == [0, 1, 3, 8, 18, 48]
    assert all(a.detail == "the provider did not reboot it (unavailable)" for a in steps[:5])
    assert len(await messages(sessions, "failure")) == 1
