"""(a) Ingest of every offer in one transaction vs a raw COPY of the same rows."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import psycopg
from sqlalchemy.ext.asyncio import async_sessionmaker

from app.db.models import OFFER_ORIGIN_LIVE, PriceSource as SourceRow
from app.services.ingest import STAGE_COLUMNS, IngestStats, dedupe, ingest_offers, source_price_basis, stage_row
from providers.base import Offer
from tests.benchmarks.database import dsn
from tests.benchmarks.dataset import by_source

COPY_TABLE = "bench_copy_baseline"
COPY_COLUMNS = ["source", *STAGE_COLUMNS, "origin", "first_seen_at", "observed_at"]


@dataclass
class IngestRun:
    seconds: float
    stats: IngestStats


async def ingest_all(sessions: async_sessionmaker, offers: list[Offer], at: datetime) -> IngestRun:
    """Every source's offers through the real ingest path, in one transaction, with status rows."""
    totals = [0, 0, 0, 0]
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        for source, items in by_source(offers).items():
            stats = await ingest_offers(session, source, items, at)
            for i, value in enumerate((stats.appeared, stats.changed, stats.disappeared, stats.unchanged)):
                totals[i] += value
            row = await session.get(SourceRow, source) or SourceRow(
                name=source, offer_count=0, skipped_count=0, consecutive_failures=0, not_configured=False)
            session.add(row)
            row.offer_count, row.last_attempt_at, row.last_success_at = len(items), at, at
    return IngestRun(time.perf_counter() - started, IngestStats(*totals))


def copy_rows(offers: list[Offer], at: datetime) -> list[tuple]:
    """The rows the offers table ends up with, built once outside the timing."""
    rows = []
    for source, items in by_source(offers).items():
        basis = source_price_basis(source)
        rows.extend((source, *stage_row(o, basis), OFFER_ORIGIN_LIVE, at, at) for o in dedupe(items))
    return rows


async def copy_baseline(url: str, rows: list[tuple], like_offers: bool = False) -> float:
    """COPY the same rows into a table with the offers' columns: plain (no keys, no indexes), or,
    with ``like_offers``, with the offers table's keys and indexes, which ingest must maintain too."""
    shape = ("(LIKE offers INCLUDING ALL)" if like_offers
             else f"AS SELECT {', '.join(COPY_COLUMNS)} FROM offers WITH NO DATA")
    async with await psycopg.AsyncConnection.connect(dsn(url)) as conn:
        await conn.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}")
        await conn.execute(f"CREATE TABLE {COPY_TABLE} {shape}")
        await conn.commit()
        started = time.perf_counter()
        async with conn.cursor() as cur:
            async with cur.copy(f"COPY {COPY_TABLE} ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    await copy.write_row(row)
        await conn.commit()
        seconds = time.perf_counter() - started
        await conn.execute(f"DROP TABLE {COPY_TABLE}")
        await conn.commit()
    return seconds
