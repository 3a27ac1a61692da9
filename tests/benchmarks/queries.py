"""(c) The cheapest-per-GPU query vs a trivial ``SELECT count(*) FROM offers``."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.services.prices import cheapest_per_gpu


async def median_seconds(sessions: async_sessionmaker, run: Callable[[AsyncSession], Awaitable], runs: int) -> float:
    times = []
    async with sessions() as session:
        await run(session)  # warm-up: connection, plan and cache
        for _ in range(runs):
            started = time.perf_counter()
            await run(session)
            times.append(time.perf_counter() - started)
            await session.rollback()
    return statistics.median(times)


async def cheapest(session: AsyncSession) -> None:
    await cheapest_per_gpu(session, spot=False)


async def count_all(session: AsyncSession) -> None:
    (await session.execute(text("SELECT count(*) FROM offers"))).scalar_one()
