"""Test data through the real write path (ingest), so tests see what the app would store."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import OFFER_ORIGIN_LIVE, PriceSource as SourceRow
from app.services.ingest import ingest_offers
from providers.base import Offer

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def make_offer(
    source: str = "lambdalabs",
    gpu: str = "H100 SXM",
    price: str = "2.99",
    *,
    count: int | str = 1,
    region: str = "us-east-1",
    spot: bool = False,
    memory: int | None = 80,
    instance_type: str | None = None,
    available: bool | None = True,
    buy_url: str = "https://example-provider.test/pricing",
) -> Offer:
    return Offer(
        source=source,
        instance_type=instance_type or f"{gpu.lower().replace(' ', '-')}-x{count}",
        gpu_raw_name=gpu,
        gpu_count=Decimal(count),
        price_per_hour=Decimal(price),
        region=region,
        spot=spot,
        available=available,
        gpu_memory_gb=memory,
        buy_url=buy_url,
    )


async def seed(
    sessions: async_sessionmaker[AsyncSession],
    offers: list[Offer],
    at: datetime = NOW,
    origin: str = OFFER_ORIGIN_LIVE,
) -> None:
    """Ingest offers grouped by source and mark each source as successfully polled at ``at``."""
    by_source: dict[str, list[Offer]] = {}
    for offer in offers:
        by_source.setdefault(offer.source, []).append(offer)
    for source, items in by_source.items():
        async with sessions() as session, session.begin():
            await ingest_offers(session, source, items, at, origin=origin)
            row = await session.get(SourceRow, source) or SourceRow(
                name=source, offer_count=0, skipped_count=0, consecutive_failures=0, not_configured=False
            )
            session.add(row)
            row.offer_count = len(items)
            if origin == OFFER_ORIGIN_LIVE:
                row.last_attempt_at = row.last_success_at = at
            else:
                row.snapshot_taken_at = at
