"""Read queries only the pages need (the shared read side stays in app.services.prices)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Offer
from app.services.prices import OfferView, public_sources, source_rows, to_view, with_other_market
from providers.gpus import GPUS, CanonicalGpu


@dataclass
class GpuMarket:
    """Current offers of one canonical GPU (or a whole family) across every provider."""

    on_demand: Decimal | None = None
    spot: Decimal | None = None
    offer_count: int = 0
    providers: set[str] = field(default_factory=set)

    @property
    def cheapest(self) -> Decimal | None:
        prices = [p for p in (self.on_demand, self.spot) if p is not None]
        return min(prices) if prices else None

    def add(self, spot: bool, source: str, price: Decimal, count: int) -> None:
        if spot:
            self.spot = _lowest(self.spot, price)
        else:
            self.on_demand = _lowest(self.on_demand, price)
        self.offer_count += count
        self.providers.add(source)

    def merge(self, other: GpuMarket) -> None:
        self.on_demand = _lowest(self.on_demand, other.on_demand)
        self.spot = _lowest(self.spot, other.spot)
        self.offer_count += other.offer_count
        self.providers |= other.providers


def _lowest(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    return b if a is None else a if b is None else min(a, b)


async def market_by_gpu(session: AsyncSession, *, simulated: bool = False) -> dict[str, GpuMarket]:
    """Cheapest on-demand and spot $/GPU-hour, offer and provider counts per canonical GPU (one query).
    ``simulated``: include the sandbox cloud (sandbox mode on the price pages)."""
    stmt = (
        select(Offer.gpu_slug, Offer.spot, Offer.source, func.min(Offer.price_per_gpu_hour), func.count())
        .where(Offer.gpu_slug.is_not(None))
        .group_by(Offer.gpu_slug, Offer.spot, Offer.source)
    )
    markets: dict[str, GpuMarket] = {}
    for slug, spot, source, price, count in (await session.execute(public_sources(stmt, simulated))).all():
        if slug in GPUS:  # a slug the catalog no longer has is skipped, not a 500
            markets.setdefault(slug, GpuMarket()).add(spot, source, price, count)
    return markets


def market_by_family(markets: dict[str, GpuMarket]) -> dict[str, GpuMarket]:
    families: dict[str, GpuMarket] = {}
    for slug, market in markets.items():
        families.setdefault(GPUS[slug].family, GpuMarket()).merge(market)
    return families




async def sources_with_offers(session: AsyncSession, *, simulated: bool = False) -> list[str]:
    stmt = public_sources(select(Offer.source).distinct().order_by(Offer.source), simulated)
    return list((await session.execute(stmt)).scalars())


async def cheapest_offer_per_source(
    session: AsyncSession, gpus: tuple[CanonicalGpu, ...], now: datetime, *, simulated: bool = False
) -> list[OfferView]:
    """The cheapest offer of each provider in each market (on-demand, spot) for these GPUs, cheapest first."""
    ranked = public_sources(
        select(
            Offer.id,
            func.row_number()
            .over(partition_by=(Offer.source, Offer.spot), order_by=(Offer.price_per_gpu_hour, Offer.id))
            .label("rank"),
        ).where(Offer.gpu_slug.in_([gpu.slug for gpu in gpus])),
        simulated,
    ).subquery()
    stmt = (
        select(Offer)
        .join(ranked, ranked.c.id == Offer.id)
        .where(ranked.c.rank == 1)
        .order_by(Offer.price_per_gpu_hour, Offer.source, Offer.spot)
    )
    rows = (await session.execute(stmt)).scalars().all()
    status = await source_rows(session)
    return await with_other_market(session, [to_view(row, status.get(row.source), now) for row in rows])
