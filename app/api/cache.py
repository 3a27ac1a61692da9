"""Whole-response cache for the public price reads.

Prices change only when a source's ingest commits, every few minutes, while the API may be asked
many times a second. A rendered body is reused while the price data it was built from is still
current and it is younger than ``max_age`` (so the ages and freshness labels in it stay true to a
few seconds). "Current" is a data version (the newest price-source update) read from the database
at most once per ``version_ttl``, so an ingest by any worker process invalidates every cache.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import PriceSource


class PriceResponseCache:
    def __init__(self, max_age: float = 10.0, version_ttl: float = 1.0, max_entries: int = 2048) -> None:
        self.max_age = max_age
        self.version_ttl = version_ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[tuple, float, bytes]] = OrderedDict()
        self._version: tuple = ()
        self._version_read_at = float("-inf")

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

    def get(self, key: str, version: tuple) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        entry_version, stored_at, body = entry
        if entry_version != version or time.monotonic() - stored_at > self.max_age:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
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
