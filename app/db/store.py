"""A Litestar ``Store`` in the database (the ``store_entries`` table), for SQLite and PostgreSQL.

Used for the login throttle's counters when no Redis is configured: every process on the same
database sees the same entries, and they survive a restart. Expired entries read as absent and
are purged now and then by the writes. ``increment`` is one upsert statement, so concurrent
increments never lose a count (PostgreSQL locks the conflicting row; SQLite writes one at a time).
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta

from sqlalchemy import (BigInteger, Integer, LargeBinary, Text, case, cast, delete, func, literal_column, or_, select,
                        update)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from litestar.stores.base import NamespacedStore

from app.db.models import StoreEntry
from app.db.types import utcnow

_TABLE = StoreEntry.__table__
_KEY_LENGTH = 512
_PURGE_EVERY_SECONDS = 60.0


def _seconds(value: int | timedelta | None) -> float | None:
    if value is None:
        return None
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class DatabaseStore(NamespacedStore):
    """Keys are ``<namespace>:<key>``; a child namespace is ``<parent>/<child>``."""

    __slots__ = ("_engine", "_last_purge")

    def __init__(self, engine: AsyncEngine, namespace: str = "litestar") -> None:
        if not namespace or ":" in namespace:
            raise ValueError("a store namespace is a non-empty name without ':'")
        self._engine = engine
        self.namespace = namespace
        self._last_purge = 0.0

    def with_namespace(self, namespace: str) -> DatabaseStore:
        return DatabaseStore(self._engine, f"{self.namespace}/{namespace}")

    def _key(self, key: str) -> str:
        full = f"{self.namespace}:{key}"
        if len(full) > _KEY_LENGTH:  # still one row per key, within the column's length
            full = f"{self.namespace}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"
        return full

    # --- the Store interface ----------------------------------------------------------------------
    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        data = value.encode() if isinstance(value, str) else value
        now = utcnow()
        seconds = _seconds(expires_in)
        expires_at = now + timedelta(seconds=seconds) if seconds else None
        async with self._engine.begin() as conn:
            insert = _insert(conn).values(key=self._key(key), value=data, expires_at=expires_at)
            await conn.execute(insert.on_conflict_do_update(
                index_elements=[_TABLE.c.key], set_={"value": insert.excluded.value,
                                                      "expires_at": insert.excluded.expires_at}))
        await self._purge_now_and_then()

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        found = await self._live_row(key)
        if found is None:
            return None
        value, expires_at = found
        seconds = _seconds(renew_for)
        if seconds and expires_at is not None:
            async with self._engine.begin() as conn:
                await conn.execute(update(_TABLE).where(_TABLE.c.key == self._key(key))
                                   .values(expires_at=utcnow() + timedelta(seconds=seconds)))
        return value

    async def delete(self, key: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(_TABLE).where(_TABLE.c.key == self._key(key)))

    async def delete_all(self) -> None:
        """This namespace and its children."""
        async with self._engine.begin() as conn:
            await conn.execute(delete(_TABLE).where(or_(_TABLE.c.key.startswith(f"{self.namespace}:", autoescape=True),
                                                        _TABLE.c.key.startswith(f"{self.namespace}/", autoescape=True))))

    async def exists(self, key: str) -> bool:
        return await self._live_row(key) is not None

    async def expires_in(self, key: str) -> int | None:
        found = await self._live_row(key)
        if found is None or found[1] is None:
            return None
        return int((found[1] - utcnow()).total_seconds())

    # --- counters -----------------------------------------------------------------------------------
    async def increment(self, key: str, expires_in: int | timedelta) -> int:
        """Add one to a counter and return the new count. The first increment (or the first after
        the counter expired) starts it at 1 with a fresh expiry; later ones keep that expiry."""
        now = utcnow()
        seconds = _seconds(expires_in) or 1.0
        async with self._engine.begin() as conn:
            insert = _insert(conn).values(key=self._key(key), value=b"1", expires_at=now + timedelta(seconds=seconds))
            expired = _TABLE.c.expires_at <= now
            upsert = insert.on_conflict_do_update(index_elements=[_TABLE.c.key], set_={
                "value": case((expired, insert.excluded.value), else_=_plus_one(conn, _TABLE.c.value)),
                "expires_at": case((expired, insert.excluded.expires_at), else_=_TABLE.c.expires_at),
            }).returning(_TABLE.c.value)
            count = int((await conn.execute(upsert)).scalar_one())
        await self._purge_now_and_then()
        return count

    async def delete_expired(self) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(_TABLE).where(_TABLE.c.expires_at <= utcnow()))
        return result.rowcount

    # --- helpers ------------------------------------------------------------------------------------
    async def _live_row(self, key: str) -> tuple[bytes, datetime | None] | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(_TABLE.c.value, _TABLE.c.expires_at)
                                      .where(_TABLE.c.key == self._key(key)))).first()
        if row is None or (row.expires_at is not None and row.expires_at <= utcnow()):
            return None
        return bytes(row.value), row.expires_at

    async def _purge_now_and_then(self) -> None:
        """Counters of one-off addresses would otherwise pile up; a minute between purges is enough."""
        if time.monotonic() - self._last_purge >= _PURGE_EVERY_SECONDS:
            self._last_purge = time.monotonic()
            await self.delete_expired()


def _insert(conn: AsyncConnection):
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(_TABLE)
    if dialect == "sqlite":
        return sqlite.insert(_TABLE)
    raise NotImplementedError(f"DatabaseStore supports SQLite and PostgreSQL, not {dialect}")


def _plus_one(conn: AsyncConnection, value: ColumnElement[bytes]) -> ColumnElement[bytes]:
    """``value + 1`` for a count kept as ASCII digits in the bytes column, inside the database."""
    if conn.dialect.name == "postgresql":
        number = cast(func.convert_from(value, literal_column("'UTF8'")), BigInteger) + 1
        return func.convert_to(cast(number, Text), literal_column("'UTF8'"), type_=LargeBinary)
    return cast(cast(cast(value, Text), Integer) + 1, LargeBinary)
