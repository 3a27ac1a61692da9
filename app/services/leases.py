"""Named leases in the database: one holder at a time, on SQLite and PostgreSQL alike.

A crashed holder's lease simply expires. Acquire is a conditional write, so two workers
racing for the same lease cannot both win.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.types import UTCDateTime, utcnow

log = logging.getLogger(__name__)
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
_TIMES = (bindparam("exp", type_=UTCDateTime()), bindparam("now", type_=UTCDateTime()))


async def acquire(
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    ttl: timedelta,
    holder: str = WORKER_ID,
    now: datetime | None = None,
) -> bool:
    now = now or utcnow()
    params = {"name": name, "holder": holder, "exp": now + ttl, "now": now}
    async with sessions() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO job_leases (name, holder, expires_at) VALUES (:name, :holder, :exp) "
                "ON CONFLICT (name) DO NOTHING"
            ).bindparams(_TIMES[0]),
            params,
        )
        result = await session.execute(
            text(
                "UPDATE job_leases SET holder = :holder, expires_at = :exp "
                "WHERE name = :name AND (holder = :holder OR expires_at < :now)"
            ).bindparams(*_TIMES),
            params,
        )
        return result.rowcount == 1


async def release(sessions: async_sessionmaker[AsyncSession], name: str, holder: str = WORKER_ID) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            text("DELETE FROM job_leases WHERE name = :name AND holder = :holder"),
            {"name": name, "holder": holder},
        )


@contextlib.asynccontextmanager
async def held(sessions: async_sessionmaker[AsyncSession], name: str, ttl: timedelta,
               holder: str = WORKER_ID) -> AsyncIterator[bool]:
    """Hold ``name`` while the block runs (yields False, and holds nothing, when someone else has it).

    The lease is short and renewed every third of ``ttl`` while the block runs, so a holder killed
    with SIGKILL blocks the next one for at most ``ttl``, however long a live holder may take."""
    if not await acquire(sessions, name, ttl, holder=holder):
        yield False
        return

    async def renew() -> None:
        while True:
            await asyncio.sleep(ttl.total_seconds() / 3)
            try:
                await acquire(sessions, name, ttl, holder=holder)
            except Exception:  # noqa: BLE001 - a failed renewal is retried; the lease may lapse meanwhile
                log.warning("renewing lease %s failed", name, exc_info=True)

    renewal = asyncio.create_task(renew(), name=f"lease:{name}")
    try:
        yield True
    finally:
        renewal.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewal
        await release(sessions, name, holder=holder)
