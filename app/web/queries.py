"""Read queries only the pages need (the shared read side stays in app.services.prices)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Offer
from app.services.prices import OfferView, public_sources, source_rows, to_view, with_other_market
from providers.base import PRICE_BASIS_HELP, PRICE_BASIS_LABELS, PriceBasis
from providers.gpus import GPUS, CanonicalGpu


@dataclass
class GpuMarket:
    """Current offers of one canonical GPU (or a whole family) across every provider.

    Each "from" price keeps the price basis of the offer it came from: a GPU-only rate and an
    instance price are not the same thing, so the pages name which one the lowest figure is."""

    on_demand: Decimal | None = None
    spot: Decimal | None = None
    offer_count: int = 0
    providers: set[str] = field(default_factory=set)
    on_demand_basis: PriceBasis | None = None
    spot_basis: PriceBasis | None = None

    @property
    def cheapest(self) -> Decimal | None:
        prices = [p for p in (self.on_demand, self.spot) if p is not None]
        return min(prices) if prices else None

    def basis_of(self, spot: bool) -> tuple[str, str]:
        """(short label, what it means) of the price basis behind the "from" price of a market."""
        basis = self.spot_basis if spot else self.on_demand_basis
        if basis is None:
            return "basis not stated", "the source does not say what its price includes"
        return PRICE_BASIS_LABELS[basis], PRICE_BASIS_HELP[basis]

    def add(self, spot: bool, source: str, price: Decimal, count: int, basis: PriceBasis | None = None) -> None:
        if spot:
            self.spot, self.spot_basis = _lowest((self.spot, self.spot_basis), (price, basis))
        else:
            self.on_demand, self.on_demand_basis = _lowest((self.on_demand, self.on_demand_basis), (price, basis))
        self.offer_count += count
        self.providers.add(source)

    def merge(self, other: GpuMarket) -> None:
        self.on_demand, self.on_demand_basis = _lowest((self.on_demand, self.on_demand_basis),
                                                       (other.on_demand, other.on_demand_basis))
        self.spot, self.spot_basis = _lowest((self.spot, self.spot_basis), (other.spot, other.spot_basis))
        self.offer_count += other.offer_count
        self.providers |= other.providers


Priced = tuple[Decimal | None, PriceBasis | None]


def _lowest(a: Priced, b: Priced) -> Priced:
    """The lower price with its basis; on a tie the one already held stays (stable across pages)."""
    if a[0] is None:
        return b
    if b[0] is None or a[0] <= b[0]:
        return a
    return b


async def market_by_gpu(session: AsyncSession, *, simulated: bool = False) -> dict[str, GpuMarket]:
    """Cheapest on-demand and spot $/GPU-hour, offer and provider counts per canonical GPU (one query).
    ``simulated``: include the sandbox cloud (sandbox mode on the price pages)."""
    stmt = (
        select(Offer.gpu_slug, Offer.spot, Offer.source, Offer.price_basis, func.min(Offer.price_per_gpu_hour),
               func.count())
        .where(Offer.gpu_slug.is_not(None))
        .group_by(Offer.gpu_slug, Offer.spot, Offer.source, Offer.price_basis)
    )
    markets: dict[str, GpuMarket] = {}
    rows = (await session.execute(public_sources(stmt, simulated))).all()
    # Cheapest first, so a tie keeps the same basis whatever order the database returns groups in.
    for slug, spot, source, basis, price, count in sorted(rows, key=lambda r: (r[4], r[2], r[3] or "")):
        if slug in GPUS:  # a slug the catalog no longer has is skipped, not a 500
            markets.setdefault(slug, GpuMarket()).add(spot, source, price, count, _basis(basis))
    return markets


def _basis(value) -> PriceBasis | None:
    try:
        return PriceBasis(value) if value else None
    except ValueError:  # a value an older release wrote: shown as "not stated", never a 500
        return None


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
