"""Hand-computed uptime cases. Check interval 10 min throughout, so a check's verdict holds 20 min."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest

from app.sla.rolling import History, instance_rolling, pool_rolling
from app.sla.uptime import Check, Incident, StateChange, per_day, uptime

I = timedelta(minutes=10)
D = datetime(2026, 12, 3, tzinfo=timezone.utc)  # a midnight


def at(hours: float = 0, minutes: float = 0, day: int = 0) -> datetime:
    return D + timedelta(days=day, hours=hours, minutes=minutes)


def every(start: datetime, end: datetime, ok: bool = True, cause: str | None = None) -> list[Check]:
    """One check per interval in [start, end)."""
    out, t = [], start
    while t < end:
        out.append(Check(t, ok, None if ok else cause))
        t += I
    return out


H, M = timedelta(hours=1), timedelta(minutes=1)


def test_an_incident_across_midnight_is_split_at_midnight():
    # Running from 11:00 the day before; checks every 10 min; failed 23:30 .. 00:20, ok again at 00:30.
    states = [StateChange(at(11, day=-1), "running")]
    checks = (every(at(11, day=-1), at(23, 30, day=-1)) + every(at(23, 30, day=-1), at(0, 30), False, "endpoint down")
              + every(at(0, 30), at(12)))
    whole = uptime(states, checks, [], I, at(12, day=-1), at(12))
    # 24 h measured, down 23:30 -> 00:30 = 1 h, up 23 h: 23/24.
    assert (whole.up, whole.down, whole.unknown, whole.excluded) == (23 * H, H, timedelta(0), timedelta(0))
    assert whole.fraction == Fraction(23, 24)
    assert whole.percent() == Decimal("95.833")
    assert whole.incidents == (Incident(at(23, 30, day=-1), at(0, 30), "endpoint down"),)

    first, second = per_day(states, checks, [], I, at(12, day=-1), at(12))
    # Day 1, 12:00 -> 24:00: down 23:30 -> 24:00 = 30 min of 12 h; still open at midnight.
    assert (first.start, first.end, first.down, first.up) == (at(12, day=-1), at(0), 30 * M, 11 * H + 30 * M)
    assert first.incidents == (Incident(at(23, 30, day=-1), None, "endpoint down"),)
    # Day 2, 00:00 -> 12:00: down 00:00 -> 00:30 = 30 min of 12 h, the same incident's second half.
    assert (second.start, second.end, second.down, second.up) == (at(0), at(12), 30 * M, 11 * H + 30 * M)
    assert second.incidents == (Incident(at(0), at(0, 30), "endpoint down"),)
    assert first.fraction == second.fraction == Fraction(23, 24)  # 690 / 720 min


def test_overlapping_and_out_of_order_checks_are_not_counted_twice():
    states = [StateChange(at(0), "running")]
    checks = [Check(at(0, 50), True), Check(at(0, 40), True), Check(at(0, 22), True), Check(at(0, 0), True),
              Check(at(0, 30), True), Check(at(0, 25), False, "timeout"), Check(at(0, 10), True),
              Check(at(0, 30), False, "timeout again"), Check(at(0, 20), True), Check(at(0, 40), True)]
    result = uptime(states, checks, [], I, at(0), at(1))
    # Sorted: up 00:00 -> 00:25 (ok at :00 :10 :20 :22), down 00:25 -> 00:40 (failed :25; at :30 the failed
    # of the two wins), up 00:40 -> 01:00 (ok :40 twice, :50). Up 25 + 20 = 45 min, down 15: 3/4.
    assert (result.up, result.down, result.unknown) == (45 * M, 15 * M, timedelta(0))
    assert result.fraction == Fraction(3, 4)
    assert result.incidents == (Incident(at(0, 25), at(0, 40), "timeout"),)


def test_a_maintenance_window_is_excluded():
    states = [StateChange(at(0), "running")]
    checks = every(at(0), at(0, 30)) + every(at(0, 30), at(1), False, "patching") + every(at(1), at(2))
    result = uptime(states, checks, [(at(0, 30), at(1))], I, at(0), at(2))
    # 2 h window, 00:30 -> 01:00 maintenance (its failed checks ignored): excluded 30 min, up 90 min, 100 %.
    assert (result.up, result.down, result.unknown, result.excluded) == (90 * M, timedelta(0), timedelta(0), 30 * M)
    assert result.fraction == 1
    assert result.incidents == ()


def test_a_stopped_period_is_excluded():
    states = [StateChange(at(0), "running"), StateChange(at(1), "stopping"), StateChange(at(1, 2), "stopped"),
              StateChange(at(2), "provisioning"), StateChange(at(2, 1), "running")]
    checks = every(at(0), at(1)) + every(at(1, 10), at(2), False, "stopped") + every(at(2, 1), at(3, 1))
    result = uptime(states, checks, [], I, at(0), at(3))
    # Measured 00:00 -> 01:00 and 02:01 -> 03:00 = 60 + 59 min, all up; 01:00 -> 02:01 excluded (61 min).
    assert (result.up, result.down, result.unknown, result.excluded) == (119 * M, timedelta(0), timedelta(0), 61 * M)
    assert result.fraction == 1


def test_provisioning_time_is_excluded():
    states = [StateChange(at(0), "provisioning"), StateChange(at(0, 5), "running")]
    checks = [Check(at(0, 2), False, "booting")] + every(at(0, 5), at(1))
    result = uptime(states, checks, [], I, at(0), at(1))
    # 00:00 -> 00:05 provisioning: excluded 5 min (the boot-time failed check too); up 55 min: 100 %.
    assert (result.up, result.down, result.excluded) == (55 * M, timedelta(0), 5 * M)
    assert result.fraction == 1 and result.incidents == ()


def test_an_open_incident_has_no_end():
    states = [StateChange(at(0), "running")]
    checks = every(at(0), at(0, 40)) + every(at(0, 40), at(1), False, "no answer")
    result = uptime(states, checks, [], I, at(0), at(1))
    # up 00:00 -> 00:40 = 40 min, down 00:40 -> 01:00 = 20 min: 2/3, incident still open.
    assert (result.up, result.down) == (40 * M, 20 * M)
    assert result.fraction == Fraction(2, 3)
    assert result.incidents == (Incident(at(0, 40), None, "no answer"),)


def test_a_gap_longer_than_twice_the_interval_is_unknown():
    states = [StateChange(at(0), "running")]
    checks = [Check(at(0), True), Check(at(0, 10), True), Check(at(0, 25), True)] + every(at(1), at(2))
    result = uptime(states, checks, [], I, at(0), at(2))
    # :00 -> :10 -> :25 are 10 and 15 min apart (< 20): up. The :25 check holds until :45; 00:45 -> 01:00 is
    # unknown (15 min). Up 45 + 60 = 105 min of 120 measured: 7/8, unknown counts against uptime.
    assert (result.up, result.down, result.unknown) == (105 * M, timedelta(0), 15 * M)
    assert result.measured == 2 * H
    assert result.fraction == Fraction(7, 8)
    assert result.seconds(result.unknown) == Decimal(900)


def test_time_before_the_first_check_of_a_run_is_unknown_and_a_failure_before_a_gap_stays_unresolved():
    states = [StateChange(at(0), "running")]
    checks = [Check(at(0, 5), False, "refused")]
    result = uptime(states, checks, [], I, at(0), at(1))
    # 00:00 -> 00:05 no check yet: unknown 5; down 00:05 -> 00:25 (the verdict's 20 min); unknown after: 35.
    assert (result.up, result.down, result.unknown) == (timedelta(0), 20 * M, 40 * M)
    assert result.incidents == (Incident(at(0, 5), None, "refused"),)


def test_a_pool_of_three_nodes_one_down_one_hour_of_24():
    start, end = at(0), at(24)
    states = [StateChange(at(-1), "running")]
    good = every(at(-1), end)
    bad = every(at(-1), at(10)) + every(at(10), at(11), False, "gpu fell off the bus") + every(at(11), end)
    nodes = [History(1, states, good, []), History(2, states, good, []), History(3, states, bad, [])]
    figures = pool_rolling(nodes, I, end)
    day = figures["24h"]
    # 3 nodes x 24 h = 72 node-hours measured, 1 node-hour down: 71/72 = 98.611 %.
    assert (day.up, day.down, day.measured) == (71 * H, H, 72 * H)
    assert day.fraction == Fraction(71, 72)
    assert day.percent() == Decimal("98.611")
    assert day.incidents == (Incident(at(10), at(11), "gpu fell off the bus"),)
    # 7 d / 30 d: the nodes only existed for the last 25 h (before the first state change is excluded):
    # measured 3 x 25 h = 75 node-hours, 1 down: 74/75.
    assert figures["7d"].fraction == figures["30d"].fraction == Fraction(74, 75)
    assert figures["7d"].excluded == 3 * (7 * 24 - 25) * H
    assert (start, end) == (day.start, day.end)


def test_instance_rolling_windows():
    now = at(0, day=2)
    states = [StateChange(at(0), "provisioning"), StateChange(at(0, 10), "running")]
    checks = every(at(0, 10), at(21, day=1)) + every(at(21, day=1), at(22, day=1), False, "x") + every(at(22, day=1), now)
    figures = instance_rolling(History(7, states, checks, []), I, now)
    # 24 h: 23 of 24 h up. 7 d and 30 d: measured 47 h 50 min (00:10 day 0 -> now), down 1 h: 2810/2870 min.
    assert figures["24h"].fraction == Fraction(23, 24)
    assert figures["7d"].fraction == figures["30d"].fraction == Fraction(2810, 2870)
    assert figures["30d"].excluded == 30 * 24 * H - 47 * H - 50 * M


def test_bad_windows_are_refused():
    with pytest.raises(ValueError):
        uptime([], [], [], I, at(1), at(0))
    with pytest.raises(ValueError):
        uptime([], [], [], timedelta(0), at(0), at(1))
    assert uptime([], [], [], I, at(0), at(1)).fraction is None
    unchecked = uptime([StateChange(at(0), "running")], [], [], I, at(0), at(1))
    assert (unchecked.unknown, unchecked.fraction, unchecked.checked) == (H, 0, False)


def test_a_crash_is_measured_but_a_failed_launch_is_not():
    crashed = [StateChange(at(0), "running"), StateChange(at(0, 30), "failed"), StateChange(at(0, 40), "provisioning"),
               StateChange(at(0, 45), "running")]
    checks = every(at(0), at(0, 30)) + [Check(at(0, 30), False, "crashed")] + every(at(0, 45), at(1))
    result = uptime(crashed, checks, [], I, at(0), at(1))
    # up 00:00 -> 00:30, down 00:30 -> 00:40 (failed after running), excluded 00:40 -> 00:45, up 00:45 -> 01:00.
    assert (result.up, result.down, result.excluded) == (45 * M, 10 * M, 5 * M)
    assert result.incidents == (Incident(at(0, 30), at(0, 40), "crashed"),)
    never_ran = uptime([StateChange(at(0), "launching"), StateChange(at(0, 1), "failed")], [], [], I, at(0), at(1))
    assert (never_ran.excluded, never_ran.fraction) == (H, None)
