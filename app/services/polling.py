"""Poll price sources: fetch with no transaction open, then ingest or record the failure.

One failing source never blocks the others (each poll is independent and every error is
caught here), and a failed source keeps its last good offers, shown as stale.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import OFFER_ORIGIN_LIVE, PriceSource as SourceRow
from app.db.types import utcnow
from app.services import leases
from app.services.ingest import IngestStats, current_offer_count, ingest_offers
from app.settings import Settings
from providers import errors
from providers.base import FetchResult, PriceSource
from providers.http import new_client
from providers.registry import enabled_source_names, get_source_class

log = logging.getLogger(__name__)
POLL_LEASE_TTL = timedelta(minutes=10)


@dataclass(frozen=True)
class PollOutcome:
    source: str
    status: str  # ok | failed | not_configured | skipped (lease held or backing off)
    offers: int = 0
    skipped_items: int = 0
    duration_ms: int = 0
    error: str = ""
    stats: IngestStats | None = None


async def _source_row(session: AsyncSession, name: str) -> SourceRow:
    row = await session.get(SourceRow, name, with_for_update=session.bind.dialect.name == "postgresql")
    if row is None:
        row = SourceRow(name=name, offer_count=0, skipped_count=0, consecutive_failures=0, not_configured=False)
        session.add(row)
    return row


async def _record_failure(
    sessions: async_sessionmaker[AsyncSession], name: str, exc: errors.ProviderError, at: datetime, ms: int
) -> None:
    async with sessions() as session, session.begin():
        row = await _source_row(session, name)
        row.last_attempt_at = at
        row.last_duration_ms = ms
        row.not_configured = isinstance(exc, errors.NotConfigured)
        if row.not_configured:
            row.last_error = None
            return
        row.last_error = str(exc)
        row.last_error_at = at
        row.last_error_retryable = exc.retryable
        row.consecutive_failures = (row.consecutive_failures or 0) + 1
        retry_after = getattr(exc, "retry_after", None)
        row.retry_after_until = at + timedelta(seconds=retry_after) if retry_after else None


async def _record_success(
    sessions: async_sessionmaker[AsyncSession], name: str, result: FetchResult, at: datetime, ms: int
) -> IngestStats:
    async with sessions() as session, session.begin():
        row = await _source_row(session, name)  # locks the row: concurrent ingests of one source queue up
        stats = await ingest_offers(session, name, result.offers, at, origin=OFFER_ORIGIN_LIVE)
        row.last_attempt_at = at
        row.last_success_at = at
        row.last_duration_ms = ms
        row.offer_count = stats.appeared + stats.changed + stats.unchanged
        row.skipped_count = len(result.skipped)
        row.consecutive_failures = 0
        row.last_error = None
        row.retry_after_until = None
        row.not_configured = False
        row.snapshot_taken_at = None
        return stats


async def poll_source(
    name: str,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    *,
    now: datetime | None = None,
    respect_backoff: bool = True,
    holder: str = leases.WORKER_ID,
) -> PollOutcome:
    at = now or utcnow()
    lease = f"poll:{name}"
    if not await leases.acquire(sessions, lease, POLL_LEASE_TTL, holder=holder, now=at):
        return PollOutcome(name, "skipped", error="another worker is polling this source")
    try:
        return await _poll_locked(name, settings, sessions, http, at, respect_backoff)
    finally:
        await leases.release(sessions, lease, holder=holder)


async def _poll_locked(name, settings, sessions, http, at, respect_backoff) -> PollOutcome:
    if respect_backoff:
        async with sessions() as session:
            row = await session.get(SourceRow, name)
            if row is not None and row.retry_after_until and row.retry_after_until > at:
                return PollOutcome(name, "skipped", error=f"rate limited until {row.retry_after_until:%H:%M:%S} UTC")
    started = time.perf_counter()
    try:
        # Inside the try: an adapter that fails to import is that source's failure, not poll_all's.
        cls: type[PriceSource] = get_source_class(name)
        source = cls.from_settings(settings, http)
        result = await source.fetch_offers()  # network: no transaction is open here
        if not result.offers:
            async with sessions() as session:
                if await current_offer_count(session, name):
                    raise errors.BadResponse("the source answered with no offers at all; keeping the last good prices",
                                             provider=name)
    except errors.ProviderError as exc:
        ms = int((time.perf_counter() - started) * 1000)
        await _record_failure(sessions, name, exc, at, ms)
        status = "not_configured" if isinstance(exc, errors.NotConfigured) else "failed"
        if status == "failed":
            log.warning("poll %s failed: %s", name, exc)
        return PollOutcome(name, status, duration_ms=ms, error=str(exc))
    except Exception as exc:  # a bug in one adapter must not stop the other sources
        log.exception("poll %s crashed", name)
        ms = int((time.perf_counter() - started) * 1000)
        wrapped = errors.BadResponse(f"adapter error: {type(exc).__name__}: {exc}", provider=name)
        await _record_failure(sessions, name, wrapped, at, ms)
        return PollOutcome(name, "failed", duration_ms=ms, error=str(wrapped))
    ms = int((time.perf_counter() - started) * 1000)
    stats = await _record_success(sessions, name, result, at, ms)
    # The new prices are committed: price alerts compare against them (in their own transaction).
    from app.notifications.alerts import check_after_poll

    await check_after_poll(sessions, settings, name, at)
    return PollOutcome(name, "ok", offers=len(result.offers), skipped_items=len(result.skipped),
                       duration_ms=ms, stats=stats)


async def poll_all(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    names: list[str] | None = None,
    on_done=None,
) -> list[PollOutcome]:
    """Poll every source concurrently; ``on_done(outcome)`` reports progress as each finishes."""
    names = names or enabled_source_names(settings.sandbox.enabled)
    async with new_client(timeout=settings.polling.timeout_seconds) as http:
        async def one(name: str) -> PollOutcome:
            outcome = await poll_source(name, settings, sessions, http, respect_backoff=False)
            if on_done:
                on_done(outcome)
            return outcome

        return list(await asyncio.gather(*(one(n) for n in names)))
