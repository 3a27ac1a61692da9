"""Per-source fetch status for the sources page, the API and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.types import utcnow
from app.services.freshness import Freshness, source_freshness
from app.services.prices import source_rows
from providers.registry import SOURCES, get_source_class


@dataclass(frozen=True)
class SourceStatus:
    name: str
    display_name: str
    kind: str
    homepage: str
    requires_key: bool
    poll_interval_seconds: int
    freshness: Freshness
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    offer_count: int
    skipped_count: int
    last_duration_ms: int | None
    consecutive_failures: int


async def list_source_statuses(session: AsyncSession, now: datetime | None = None) -> list[SourceStatus]:
    now = now or utcnow()
    rows = await source_rows(session)
    statuses = []
    for name in sorted(SOURCES):
        try:
            cls = get_source_class(name)
        except (ImportError, AttributeError):  # adapter not written yet: nothing to report
            continue
        row = rows.get(name)
        statuses.append(
            SourceStatus(
                name=name, display_name=cls.DISPLAY_NAME, kind=cls.KIND, homepage=cls.HOMEPAGE,
                requires_key=cls.REQUIRES_KEY, poll_interval_seconds=cls.POLL_INTERVAL_SECONDS,
                freshness=source_freshness(row, cls.POLL_INTERVAL_SECONDS, now),
                last_attempt_at=row.last_attempt_at if row else None,
                last_success_at=row.last_success_at if row else None,
                last_error=row.last_error if row else None,
                last_error_at=row.last_error_at if row else None,
                offer_count=row.offer_count if row else 0,
                skipped_count=row.skipped_count if row else 0,
                last_duration_ms=row.last_duration_ms if row else None,
                consecutive_failures=row.consecutive_failures if row else 0,
            )
        )
    return statuses
