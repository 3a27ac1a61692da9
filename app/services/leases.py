"""Named leases in the database: one holder at a time, on SQLite and PostgreSQL alike.

A crashed holder's lease simply expires. Acquire is a conditional write, so two workers
racing for the same lease cannot both win.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.types import UTCDateTime, utcnow

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
