"""Per-source fetch status for the sources page, the API and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.types import utcnow
from app.services.freshness import Freshness, source_freshness
from app.services.prices import source_rows
from app.settings import Settings
from providers.base import PriceSource
from providers.registry import SOURCES, get_source_class


@dataclass(frozen=True)
class SourceStatus:
    name: str
    display_name: str
    kind: str
    homepage: str
    pricing_url: str
    requires_key: bool
    key_missing: bool
    """The source needs an operator key and none is set: it is not polled."""
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


def key_missing(cls: type[PriceSource], settings: Settings | None) -> bool:
    if not cls.REQUIRES_KEY or settings is None:
        return False
    return not all(cls.credentials_from_settings(settings).values())


async def list_source_statuses(
    session: AsyncSession, now: datetime | None = None, settings: Settings | None = None
) -> list[SourceStatus]:
    now = now or utcnow()
    rows = await source_rows(session)
    statuses = []
    for name in sorted(SOURCES):
        cls = get_source_class(name)
        row = rows.get(name)
        statuses.append(
            SourceStatus(
                name=name, display_name=cls.DISPLAY_NAME, kind=cls.KIND, homepage=cls.HOMEPAGE,
                pricing_url=cls.PRICING_URL, requires_key=cls.REQUIRES_KEY,
                key_missing=bool(row and row.not_configured) or key_missing(cls, settings),
                poll_interval_seconds=cls.POLL_INTERVAL_SECONDS,
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
