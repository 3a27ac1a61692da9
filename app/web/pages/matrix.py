"""The GPU x provider comparison matrix: columns come from the data, never a fixed provider list."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.services.prices import PriceQuery, price_matrix
from app.web.source_info import SourceInfo, source_info
from app.web.urls import matrix_cell_url
from providers.gpus import CanonicalGpu, gpus_in


@dataclass(frozen=True)
class MatrixCell:
    price: Decimal | None
    url: str | None
    best: bool


@dataclass(frozen=True)
class MatrixRow:
    gpu: CanonicalGpu
    cells: list[MatrixCell]
    best_price: Decimal
    spot_from: Decimal | None


@dataclass(frozen=True)
class PriceMatrix:
    spot: bool
    columns: list[SourceInfo]
    rows: list[MatrixRow]


async def build_matrix(session: AsyncSession, query: PriceQuery) -> PriceMatrix:
    """Cheapest $/GPU-hour per GPU and provider for the on-demand (or, when filtered so, spot) market.

    It honours the GPU, memory and provider filters; region and availability apply to the offers table.
    """
    spot = query.spot is True
    slugs = [gpu.slug for gpu in gpus_in(query.gpu)] if query.gpu else None
    providers, summaries = await price_matrix(session, spot=spot, gpu_slugs=slugs, simulated=query.include_simulated)
    if query.providers:
        providers = [p for p in providers if p in query.providers]
    basis = {p: source_info(p).price_basis for p in providers}
    if query.price_basis:
        providers = [p for p in providers if basis[p] in query.price_basis]
    rows_prices = []
    for summary in summaries:
        if query.min_memory_gb is not None and summary.gpu.memory_gb < query.min_memory_gb:
            continue
        prices = {p: summary.by_provider[p] for p in providers if p in summary.by_provider}
        if prices:
            rows_prices.append((summary, prices))
    # A provider whose offers were all filtered out gets no empty column.
    shown = {p for _, prices in rows_prices for p in prices}
    columns = [p for p in providers if p in shown]
    rows = []
    for summary, prices in rows_prices:
        best = min(prices.values())
        # Like with like: a cell is the best of its row among providers whose prices pay for the
        # same thing (a GPU-only rate never outranks whole-VM prices).
        best_by_basis: dict = {}
        for p, price in prices.items():
            best_by_basis[basis[p]] = min(price, best_by_basis.get(basis[p], price))
        cells = [
            MatrixCell(
                price=prices.get(p),
                url=matrix_cell_url(summary.gpu.slug, p, spot) if p in prices else None,
                best=p in prices and prices[p] == best_by_basis[basis[p]],
            )
            for p in columns
        ]
        # The spot minimum spans every provider, so it is only meaningful without a provider filter.
        spot_from = None if spot or query.providers else summary.cheapest_spot
        rows.append(MatrixRow(summary.gpu, cells, best, spot_from))
    return PriceMatrix(spot, [source_info(p) for p in columns], rows)
