"""Duration-weighted uptime of one instance over a window ``[start, end)``: pure arithmetic, no I/O.

The rules (the page states them under the figures):

1. **Measured time** is the time the instance is running or unknown, or failed straight after such
   time (a crash; a launch that failed is not measured): launching, provisioning, stopping, stopped
   (on request or not), terminating and terminated time is *excluded*, and so is time before the
   instance's first state change.
2. **Maintenance windows** are excluded, whatever the state and the checks say.
3. Within measured time each moment takes the verdict of the **latest health check at or before it,
   taken in the same measured run** (a run starts whenever excluded time ends). A check taken in
   excluded time (a boot-time "not healthy yet") is ignored.
4. A **failed check starts an incident at that check's own time** (the first evidence, not the last
   ok check + interval); the next ok check ends it. Down time = time covered by failed checks.
5. A check's verdict holds for at most **2 x the check interval**; time with no check that recent
   (a data gap, or the start of a run before its first check) is **unknown**: not up and not down.
6. Checks may be close together or arrive out of order: they are sorted by time, so each moment
   has exactly one verdict and nothing is counted twice. Two checks at the same instant: the
   failed one wins.
7. ``uptime = up / (up + down + unknown)``: unknown time counts against uptime (a provider gets no
   credit without evidence) and is reported on its own. With no measured time, uptime is None.
8. Incidents are clipped to the window; ``end`` is None when the incident is still open at the
   window's end (or the data went stale before any ok check). Per-day figures (``per_day``) run
   the same function on each UTC day, so an incident across midnight is split at 00:00.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

MEASURED_STATUSES = frozenset({"running", "unknown"})
"""Every other status (provisioning, stopping, stopped, terminating, terminated) is excluded, and
``failed`` is measured only when it follows measured time (a crash), not after a launch that failed."""
FAILED = "failed"

UP, DOWN, UNKNOWN, EXCLUDED = "up", "down", "unknown", "excluded"
_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class StateChange:
    at: datetime
    status: str


@dataclass(frozen=True)
class Check:
    at: datetime
    ok: bool
    cause: str | None = None


@dataclass(frozen=True)
class Incident:
    start: datetime
    end: datetime | None
    cause: str | None


@dataclass(frozen=True)
class Uptime:
    start: datetime
    end: datetime
    up: timedelta
    down: timedelta
    unknown: timedelta
    excluded: timedelta
    incidents: tuple[Incident, ...] = field(default=())

    @property
    def measured(self) -> timedelta:
        return self.up + self.down + self.unknown

    @property
    def checked(self) -> bool:
        """Some measured time has a check's verdict (no auto-repair: never; the page says so, not 0 %)."""
        return self.up + self.down > timedelta(0)

    @property
    def fraction(self) -> Fraction | None:
        """Exact up / measured (microsecond resolution); None when nothing was measured."""
        measured = self.measured // _US
        return Fraction(self.up // _US, measured) if measured else None

    def percent(self, places: int = 3) -> Decimal | None:
        fraction = self.fraction
        if fraction is None:
            return None
        value = Decimal(fraction.numerator * 100) / Decimal(fraction.denominator)
        return value.quantize(Decimal(1).scaleb(-places))

    @staticmethod
    def seconds(value: timedelta) -> Decimal:
        return Decimal(value // _US) / Decimal(1_000_000)


def uptime(states: list[StateChange], checks: list[Check], maintenance: list[tuple[datetime, datetime]],
           interval: timedelta, start: datetime, end: datetime) -> Uptime:
    """Classify every moment of ``[start, end)`` (see the module docstring) and add the durations up."""
    return uptimes(states, checks, maintenance, interval, [(start, end)])[0]


def uptimes(states: list[StateChange], checks: list[Check], maintenance: list[tuple[datetime, datetime]],
            interval: timedelta, windows: list[tuple[datetime, datetime]]) -> list[Uptime]:
    """``uptime`` for several windows at once: the timeline is built once (the rolling figures use it)."""
    for start, end in windows:
        if end <= start:
            raise ValueError("the window must end after it starts")
    if interval <= timedelta(0):
        raise ValueError("the check interval must be positive")
    bounds = {t for window in windows for t in window}
    timeline = _timeline(states, checks, maintenance, 2 * interval, bounds, max(bounds))
    return [_add_up(timeline, start, end) for start, end in windows]


def _add_up(timeline, start: datetime, end: datetime) -> Uptime:
    totals = {UP: timedelta(0), DOWN: timedelta(0), UNKNOWN: timedelta(0), EXCLUDED: timedelta(0)}
    incidents: list[Incident] = []
    open_incident: tuple[datetime, str | None] | None = None
    for a, b, kind, check in timeline:
        if a >= end:
            break
        lo, hi = max(a, start), min(b, end)
        if lo < hi:
            totals[kind] += hi - lo
        if kind == DOWN and open_incident is None:
            open_incident = (check.at, check.cause)
        elif kind != DOWN and open_incident is not None:
            # Ended by an ok check or by excluded time; a data gap leaves it unresolved (end None).
            incidents.append(_clip(open_incident, None if kind == UNKNOWN else a, start, end))
            open_incident = None
    if open_incident is not None:
        incidents.append(_clip(open_incident, None, start, end))
    kept = tuple(i for i in incidents if i.start < end and (i.end is None or i.end > start))
    return Uptime(start, end, totals[UP], totals[DOWN], totals[UNKNOWN], totals[EXCLUDED], kept)


def per_day(states: list[StateChange], checks: list[Check], maintenance: list[tuple[datetime, datetime]],
            interval: timedelta, start: datetime, end: datetime) -> list[Uptime]:
    """One ``Uptime`` per UTC day touching ``[start, end)`` (the first and last may be partial)."""
    out = []
    day = start.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    while day < end:
        nxt = day + timedelta(days=1)
        out.append(uptime(states, checks, maintenance, interval, max(day, start), min(nxt, end)))
        day = nxt
    return out


def _clip(incident: tuple[datetime, str | None], ended: datetime | None, start: datetime,
          end: datetime) -> Incident:
    began, cause = incident
    return Incident(max(began, start), None if ended is None or ended >= end else ended, cause)


def _timeline(states, checks, maintenance, stale_after, bounds, end):
    """Elementary segments ``(a, b, kind, last_check)`` from the earliest data up to ``end``."""
    states = sorted(states, key=lambda s: s.at)
    state_times = [s.at for s in states]
    measured: list[bool] = []
    for s in states:
        measured.append(s.status in MEASURED_STATUSES
                        or (s.status == FAILED and bool(measured) and measured[-1]))
    windows = [(a, b) for a, b in maintenance if b > a]

    def excluded_at(t: datetime) -> bool:
        i = bisect_right(state_times, t)
        return not (i and measured[i - 1]) or any(a <= t < b for a, b in windows)

    # Failed sorts after ok at the same instant, so it is the one in force (rule 6).
    ordered = sorted((c for c in checks if not excluded_at(c.at)), key=lambda c: (c.at, not c.ok))
    points = set(bounds)
    points.update(state_times)
    for a, b in windows:
        points.update((a, b))
    for c in ordered:
        points.update((c.at, c.at + stale_after))
    begin = min(points)
    cuts = sorted(p for p in points if begin <= p <= end)
    segments = []
    run_start: datetime | None = None
    ci = 0
    last: Check | None = None
    for a, b in zip(cuts, cuts[1:]):
        if excluded_at(a):
            run_start, last = None, None
            segments.append((a, b, EXCLUDED, None))
            continue
        if run_start is None:
            run_start = a
        while ci < len(ordered) and ordered[ci].at <= a:
            if ordered[ci].at >= run_start:
                last = ordered[ci]
            ci += 1
        if last is None or a >= last.at + stale_after:
            segments.append((a, b, UNKNOWN, None))
        else:
            segments.append((a, b, UP if last.ok else DOWN, last))
    return segments
