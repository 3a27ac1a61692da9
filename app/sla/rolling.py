"""Rolling uptime (last 24 h, 7 d, 30 d) for one instance and for a pool of nodes; pure arithmetic.

A **pool's** figure is node-seconds weighted: every node's up, down and unknown time is added up
and ``uptime = sum(up) / sum(up + down + unknown)``. A node counts only for the time it was in a
measured state (so a node launched 2 h ago weighs 2 h, not 24 h), and a pool with three nodes,
one of them down 1 h of 24 h, is at (72 - 1) / 72.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.sla.uptime import Check, StateChange, Uptime, uptimes

WINDOWS: dict[str, timedelta] = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
LONGEST = max(WINDOWS.values())


@dataclass(frozen=True)
class History:
    """What is recorded for one instance: its state changes and its health checks."""

    instance_id: int
    states: list[StateChange]
    checks: list[Check]
    maintenance: list[tuple[datetime, datetime]]


def instance_rolling(history: History, interval: timedelta, now: datetime) -> dict[str, Uptime]:
    figures = uptimes(history.states, history.checks, history.maintenance, interval,
                      [(now - span, now) for span in WINDOWS.values()])
    return dict(zip(WINDOWS, figures))


def combine(parts: list[Uptime], start: datetime, end: datetime) -> Uptime:
    """Node-seconds weighted sum of the nodes' figures for the same window (incidents kept, in order)."""
    zero = timedelta(0)
    incidents = tuple(sorted((i for p in parts for i in p.incidents), key=lambda i: i.start))
    return Uptime(start, end, sum((p.up for p in parts), zero), sum((p.down for p in parts), zero),
                  sum((p.unknown for p in parts), zero), sum((p.excluded for p in parts), zero), incidents)


def pool_rolling(histories: list[History], interval: timedelta, now: datetime) -> dict[str, Uptime]:
    per_node = [instance_rolling(h, interval, now) for h in histories]
    return {name: combine([figures[name] for figures in per_node], now - span, now)
            for name, span in WINDOWS.items()}
