"""How fresh a source's prices are: live, stale (last poll failed or too old) or snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.db.models import PriceSource as SourceRow

# A source counts as live while its last success is younger than this many poll intervals.
STALE_AFTER_INTERVALS = 3


@dataclass(frozen=True, slots=True)
class Freshness:
    state: str  # live | stale | snapshot | not_configured | no_data
    label: str
    as_of: datetime | None

    @property
    def is_live(self) -> bool:
        return self.state == "live"


def humanize_age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 90:
        return "just now"
    minutes = seconds // 60
    if minutes < 90:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h ago"
    return f"{hours // 24} days ago"


def source_freshness(row: SourceRow | None, interval_seconds: int, now: datetime) -> Freshness:
    if row is None:
        return Freshness("no_data", "no data yet", None)
    if row.snapshot_taken_at is not None and row.last_success_at is None:
        return Freshness("snapshot", f"snapshot of {row.snapshot_taken_at:%Y-%m-%d}", row.snapshot_taken_at)
    if row.last_success_at is None:
        if row.not_configured:
            return Freshness("not_configured", "not configured (no API key)", None)
        return Freshness("no_data", "no data yet", None)
    age = now - row.last_success_at
    failing = row.last_error_at is not None and row.last_error_at >= row.last_success_at
    if failing or age > timedelta(seconds=interval_seconds * STALE_AFTER_INTERVALS):
        return Freshness("stale", f"stale: updated {humanize_age(age)}", row.last_success_at)
    return Freshness("live", f"live: updated {humanize_age(age)}", row.last_success_at)
