"""Clocks for the simulated cloud. Every delay is computed from timestamps, so a test that
controls the clock controls every transition, with no background task and no sleeping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class ManualClock:
    """A clock that only moves when told to: frozen until ``advance``/``set``."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
        if self._now.tzinfo is None:
            raise ValueError("the sandbox clock is timezone-aware UTC")

    def __call__(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0, **delta: float) -> datetime:
        self._now += timedelta(seconds=seconds, **delta)
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("the sandbox clock is timezone-aware UTC")
        self._now = when
