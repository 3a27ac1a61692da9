"""Where cached bodies live: an in-process LRU bounded in bytes, or Redis shared by every process.

A store maps (key, data version) to (stored_at, body). ``stored_at`` is wall-clock time, so every
process reading a shared entry agrees on its age. A store never raises for its own failures: Redis
being away makes every read a miss (the page is rendered), never an error page.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from typing import Protocol

log = logging.getLogger(__name__)
Entry = tuple[float, bytes]


class BodyStore(Protocol):
    async def get(self, key: str, version: str) -> Entry | None: ...

    async def put(self, key: str, version: str, body: bytes) -> None: ...

    async def clear(self) -> None: ...

    async def close(self) -> None: ...


class MemoryBodyStore:
    """Least recently used entries go first once ``max_bytes`` (or ``max_entries``) is exceeded.
    One entry per key: a body of a newer data version replaces the older one."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024, max_entries: int = 4096) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[str, float, bytes]] = OrderedDict()
        self._bytes = 0

    async def get(self, key: str, version: str) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != version:
            return None
        self._entries.move_to_end(key)
        return entry[1], entry[2]

    async def put(self, key: str, version: str, body: bytes) -> None:
        if len(body) > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old[2])
        self._entries[key] = (version, time.time(), body)
        self._bytes += len(body)
        while self._bytes > self.max_bytes or len(self._entries) > self.max_entries:
            _, (_, _, dropped) = self._entries.popitem(last=False)
            self._bytes -= len(dropped)

    async def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    async def close(self) -> None:
        pass

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes


class RedisBodyStore:
    """Shared by every web process. The data version is part of the key, so a new version simply
    never finds the old entries, which expire after ``ttl`` seconds (Redis's memory stays bounded
    by what was read recently)."""

    def __init__(self, url: str, namespace: str, ttl: int = 300) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.namespace = namespace
        self.ttl = ttl

    def _key(self, key: str, version: str) -> str:
        digest = hashlib.sha256(f"{version}\x00{key}".encode()).hexdigest()[:40]
        return f"{self.namespace}:{digest}"

    async def get(self, key: str, version: str) -> Entry | None:
        from redis import RedisError

        try:
            raw = await self._redis.get(self._key(key, version))
        except (RedisError, OSError) as exc:
            log.warning("response cache: Redis read failed, rendering instead: %s", exc)
            return None
        if raw is None:
            return None
        stored_at, _, body = raw.partition(b"\n")
        return float(stored_at), body

    async def put(self, key: str, version: str, body: bytes) -> None:
        from redis import RedisError

        try:
            await self._redis.set(self._key(key, version), f"{time.time():.3f}\n".encode() + body, ex=self.ttl)
        except (RedisError, OSError) as exc:
            log.warning("response cache: Redis write failed: %s", exc)

    async def clear(self) -> None:
        from redis import RedisError

        try:
            async for name in self._redis.scan_iter(match=f"{self.namespace}:*", count=500):
                await self._redis.delete(name)
        except (RedisError, OSError) as exc:
            log.warning("response cache: Redis clear failed: %s", exc)

    async def close(self) -> None:
        await self._redis.aclose()
