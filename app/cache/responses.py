"""Whole-response cache for the public price reads (``/api/v1/prices`` and the public pages).

Prices change only when a source's ingest commits, every few minutes, while the site may be asked
many times a second. A rendered body is reused while the price data it was built from is still
current. "Current" is a data version read from the database: the newest poll attempt and
snapshot, the offer count, and the newest price-history and daily-price rows (an ingest that
changes a price always writes a history row, even when it reuses the poll time of the last one).
It is read at most once per ``version_ttl``, so an ingest by any other process invalidates every
cache within that time, and again after any commit in this process (an embedded worker's ingest
shows at once; commits are rare next to page views, so this costs one small query now and then).

Within one data version only the age labels ("3 min ago") drift, so a body older than ``max_age`` is
still served once more while a single background render replaces it (stale-while-revalidate), and
concurrent misses for one key share one render: a burst never renders the same page twice in a
process. Bodies live in a ``BodyStore`` (app/cache/stores.py): memory, or Redis shared by every
process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from app.cache.stores import BodyStore, Entry, MemoryBodyStore
from app.db.models import GpuDailyPrice, PriceHistory, PriceSource

log = logging.getLogger(__name__)
Render = Callable[[], Awaitable[bytes]]
_commits_in_this_process = 0


@event.listens_for(Session, "after_commit")
def _count_commit(session: Session) -> None:
    global _commits_in_this_process
    _commits_in_this_process += 1


class NotCacheable(Exception):
    """A render whose result must not be kept (a page with a form error): it is handed to the
    caller (and to concurrent callers of the same key) as it is."""

    def __init__(self, result: object) -> None:
        super().__init__("not cacheable")
        self.result = result


@dataclass
class CacheStats:
    hits: int = 0
    stale_hits: int = 0
    misses: int = 0
    renders: int = 0


class ResponseCache:
    def __init__(self, store: BodyStore | None = None, *, max_age: float = 10.0, version_ttl: float = 1.0,
                 scope: str = "") -> None:
        self.store: BodyStore = store or MemoryBodyStore()
        self.max_age = max_age
        self.version_ttl = version_ttl
        self.scope = scope
        """Settings that change every body (the public address, sandbox mode): part of the version,
        so processes configured differently never share entries."""
        self.stats = CacheStats()
        self._version = ""
        self._version_read_at = float("-inf")
        self._version_commits = -1
        self._version_lock = asyncio.Lock()
        self._in_flight: dict[tuple[str, str], asyncio.Future[bytes]] = {}
        self._background: set[asyncio.Task] = set()

    def _version_is_current(self) -> bool:
        return (time.monotonic() - self._version_read_at < self.version_ttl
                and self._version_commits == _commits_in_this_process)

    async def data_version(self, sessions: async_sessionmaker[AsyncSession]) -> str:
        if self._version_is_current():
            return self._version
        if self._version_lock.locked() and self._version_read_at > float("-inf"):
            return self._version  # being read again: the others go on with the last one meanwhile
        async with self._version_lock:  # a burst after the TTL reads it once, not once per request
            if not self._version_is_current():
                commits = _commits_in_this_process  # a commit while reading: read again next time
                async with sessions() as session:
                    row = (await session.execute(select(
                        func.max(PriceSource.last_attempt_at), func.max(PriceSource.snapshot_taken_at),
                        func.sum(PriceSource.offer_count),
                        select(func.max(PriceHistory.id)).scalar_subquery(),
                        select(func.max(GpuDailyPrice.id)).scalar_subquery()))).one()
                self._version = "|".join([self.scope, *(_plain(v) for v in row)])
                self._version_read_at = time.monotonic()
                self._version_commits = commits
        return self._version

    def current_version(self) -> str | None:
        """The data version when it was read recently enough to be trusted without asking the
        database (see ``data_version``); None otherwise. Costs no I/O."""
        return self._version if self._version_is_current() else None

    def version_being_read(self) -> str | None:
        """The last version while a request reads the current one (what ``data_version`` hands the
        others meanwhile); None when nobody is reading it."""
        if self._version_lock.locked() and self._version_read_at > float("-inf"):
            return self._version
        return None

    async def fetch(self, key: str, version: str, render: Render) -> bytes:
        """The body for ``key`` at ``version``: cached, stale-while-revalidate, or rendered once."""
        return (await self.fetch_entry(key, version, render))[1]

    async def fetch_entry(self, key: str, version: str, render: Render) -> Entry:
        """``fetch`` with the wall-clock time the body was stored (how old its age labels are)."""
        entry = await self.store.get(key, version)
        if entry is not None:
            stored_at, body = entry
            if time.time() - stored_at > self.max_age and (key, version) not in self._in_flight:
                self.stats.stale_hits += 1
                task = asyncio.create_task(self._refresh(key, version, render))
                self._background.add(task)  # keep a reference until it finishes
                task.add_done_callback(self._background.discard)
            else:
                self.stats.hits += 1
            return entry
        self.stats.misses += 1
        return await self._render_once(key, version, render)

    async def _refresh(self, key: str, version: str, render: Render) -> None:
        try:
            await self._render_once(key, version, render)
        except NotCacheable:
            pass
        except Exception:  # the stale body was served; the next request tries again
            log.exception("response cache: background render of %s failed", key)

    async def _render_once(self, key: str, version: str, render: Render) -> Entry:
        running = self._in_flight.get((key, version))
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Entry] = asyncio.get_running_loop().create_future()
        self._in_flight[(key, version)] = future
        try:
            self.stats.renders += 1
            body = await render()
            await self.store.put(key, version, body)
            entry = (time.time(), body)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so an unawaited failure is not logged as lost
            raise
        finally:
            self._in_flight.pop((key, version), None)
        future.set_result(entry)
        return entry

    async def clear(self) -> None:
        await self.store.clear()
        self._version_read_at = float("-inf")

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await self.store.close()


def _plain(value) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def response_cache_from_settings(settings, scope: str = "") -> ResponseCache | None:
    """None when COMPUTEHUB_RESPONSE_CACHE=off: every request renders."""
    from app.cache.stores import RedisBodyStore

    backend = settings.response_cache_backend
    if backend == "off":
        return None
    if backend == "redis":
        store: BodyStore = RedisBodyStore(settings.security.redis_url, "computehub_responses",
                                          ttl=settings.cache.redis_ttl_seconds)
    else:
        store = MemoryBodyStore(max_bytes=settings.cache.memory_mb * 1024 * 1024)
    return ResponseCache(store, scope=scope)
