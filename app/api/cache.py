"""Whole-response cache for the public price reads.

Prices change only when a source's ingest commits, every few minutes, while the API may be asked
many times a second. A rendered body is reused while the price data it was built from is still
current. "Current" is a data version (the newest price-source update) read from the database at
most once per ``version_ttl``, so an ingest by any worker process invalidates every cache.

Within one data version only the age labels ("3 min ago") drift, so a body older than ``max_age`` is
still served once more while a single background render replaces it (stale-while-revalidate), and
concurrent misses for one query share one render: a burst never renders the same page twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import PriceSource

log = logging.getLogger(__name__)
Render = Callable[[], Awaitable[bytes]]


class PriceResponseCache:
    def __init__(self, max_age: float = 10.0, version_ttl: float = 1.0, max_entries: int = 2048) -> None:
        self.max_age = max_age
        self.version_ttl = version_ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[tuple, float, bytes]] = OrderedDict()
        self._version: tuple = ()
        self._version_read_at = float("-inf")
        self._in_flight: dict[tuple[str, tuple], asyncio.Future[bytes]] = {}
        self._background: set[asyncio.Task] = set()

    async def data_version(self, sessions: async_sessionmaker[AsyncSession]) -> tuple:
        now = time.monotonic()
        if now - self._version_read_at >= self.version_ttl:
            async with sessions() as session:
                row = (await session.execute(select(
                    func.max(PriceSource.last_attempt_at), func.max(PriceSource.snapshot_taken_at),
                    func.sum(PriceSource.offer_count)))).one()
            self._version = tuple(_plain(v) for v in row)
            self._version_read_at = now
        return self._version

    async def fetch(self, key: str, version: tuple, render: Render) -> bytes:
        """The body for ``key`` at ``version``: cached, stale-while-revalidate, or rendered once."""
        entry = self._entries.get(key)
        if entry is not None and entry[0] == version:
            self._entries.move_to_end(key)
            if time.monotonic() - entry[1] > self.max_age and (key, version) not in self._in_flight:
                task = asyncio.create_task(self._render_once(key, version, render))
                self._background.add(task)  # keep a reference until it finishes
                task.add_done_callback(self._background.discard)
            return entry[2]
        return await self._render_once(key, version, render)

    async def _render_once(self, key: str, version: tuple, render: Render) -> bytes:
        running = self._in_flight.get((key, version))
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._in_flight[(key, version)] = future
        try:
            body = await render()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so an unawaited failure is not logged as lost
            raise
        finally:
            self._in_flight.pop((key, version), None)
        self.put(key, version, body)
        future.set_result(body)
        return body

    def put(self, key: str, version: tuple, body: bytes) -> None:
        self._entries[key] = (version, time.monotonic(), body)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
        self._version_read_at = float("-inf")


def _plain(value):
    return value.isoformat() if isinstance(value, datetime) else value
