"""The transition table: the next state follows from the step's result type alone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from app.migration import machine as m

NOW = datetime(2026, 12, 4, 2, 0, tzinfo=timezone.utc)
ORDER = [m.PLANNED, m.LAUNCHING_TARGET, m.WAITING_READY, m.SYNCING, m.RESTORING, m.VERIFYING, m.SWITCHING,
         m.CLEANING_UP, m.DONE]


def test_finished_steps_walk_the_issues_order_and_a_rollback_ends_rolled_back():
    walked = [m.PLANNED]
    while walked[-1] not in m.FINAL:
        walked.append(m.next_state(walked[-1], m.Done(), 1, NOW).state)
    assert walked == ORDER
    assert m.next_state(m.ROLLING_BACK, m.Done(), 1, NOW) == m.Verdict(m.ROLLED_BACK, "ok")


@pytest.mark.parametrize("state", ORDER[:-2])
@pytest.mark.parametrize("error", [m.LaunchFailed("x"), m.TargetNeverReady("x"), m.SyncFailed("x"),
                                   m.VerificationFailed("x"), m.InvariantBroken("x")])
def test_a_failure_before_the_cleanup_rolls_back(state, error):
    assert m.next_state(state, error, 1, NOW) == m.Verdict(m.ROLLING_BACK, "failed")


def test_a_timeout_rolls_back_as_timed_out():
    assert m.next_state(m.SYNCING, m.StepTimedOut("slow"), 1, NOW) == m.Verdict(m.ROLLING_BACK, "timed_out")


def test_a_retryable_error_runs_the_step_again_until_the_attempts_are_spent():
    again = m.next_state(m.SYNCING, m.TryAgain("unreachable", after=timedelta(seconds=20)), 1, NOW)
    assert again == m.Verdict(m.SYNCING, "retry", NOW + timedelta(seconds=20))
    assert m.next_state(m.SYNCING, m.TryAgain("x"), m.MAX_ATTEMPTS, NOW).state == m.ROLLING_BACK


@pytest.mark.parametrize("state", [m.CLEANING_UP, m.ROLLING_BACK])
def test_cleaning_up_and_rolling_back_never_turn_around(state):
    for error in (m.SyncFailed("x"), m.TryAgain("x"), m.StepTimedOut("x")):
        verdict = m.next_state(state, error, m.MAX_ATTEMPTS + 3, NOW)
        assert (verdict.state, verdict.outcome) == (state, "retry") and verdict.wake_at > NOW


def test_a_wait_keeps_the_state_until_its_time():
    assert m.next_state(m.WAITING_READY, m.Wait(NOW + m.POLL_EVERY), 1, NOW) == m.Verdict(
        m.WAITING_READY, "waiting", NOW + m.POLL_EVERY)
