"""GET /api/v1/gpus: the GPU catalog, one GPU (family or variant) and its daily price history."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.api import convert
from app.api.schemas import GpuCatalog, GpuDetail, GpuHistory, Market
from app.billing.history_access import ensure_history_window
from app.db.types import utcnow
from app.services.history import daily_series
from app.services.prices import cheapest_per_gpu, price_matrix
from providers.gpus import GPUS, CanonicalGpu, gpus_in


def gpus_or_404(slug: str) -> tuple[CanonicalGpu, ...]:
    gpus = gpus_in(slug)
    if not gpus:
        raise NotFoundException(f"unknown GPU {slug!r}")
    return gpus


async def cheapest_by_provider(
    db: NamedDependency[AsyncSession], gpus: tuple[CanonicalGpu, ...], spot: bool, simulated: bool
) -> dict[str, Decimal]:
    """Each provider's lowest $/GPU-hour over the given variants."""
    _, summaries = await price_matrix(db, spot=spot, gpu_slugs=[g.slug for g in gpus], simulated=simulated)
    best: dict[str, Decimal] = {}
    for summary in summaries:
        for source, price in summary.by_provider.items():
            best[source] = min(price, best.get(source, price))
    return best


class GpusController(Controller):
    path = "/api/v1/gpus"
    opt = {"permission": "public"}  # the price data: anyone, no login
    tags = ["gpus"]

    @get("/", operation_id="listGpus", summary="GPU catalog with current cheapest prices")
    async def list_gpus(self, request: Request, db: NamedDependency[AsyncSession]) -> GpuCatalog:
        simulated = request.app.state.settings.sandbox.on_price_pages
        on_demand = await cheapest_per_gpu(db, spot=False, simulated=simulated)
        spot = await cheapest_per_gpu(db, spot=True, simulated=simulated)
        return GpuCatalog(items=[convert.catalog_gpu(gpu, on_demand, spot) for gpu in GPUS.values()])

    @get(
        "/{slug:str}",
        operation_id="getGpu",
        summary="One GPU family or variant with current prices per provider",
        raises=[NotFoundException],
    )
    async def get_gpu(self, request: Request, db: NamedDependency[AsyncSession], slug: FromPath[str]) -> GpuDetail:
        gpus = gpus_or_404(slug)
        simulated = request.app.state.settings.sandbox.on_price_pages
        on_demand = await cheapest_per_gpu(db, spot=False, simulated=simulated)
        spot = await cheapest_per_gpu(db, spot=True, simulated=simulated)
        providers = convert.provider_prices(
            await cheapest_by_provider(db, gpus, spot=False, simulated=simulated),
            await cheapest_by_provider(db, gpus, spot=True, simulated=simulated),
        )
        return convert.gpu_detail(slug.lower(), gpus, on_demand, spot, providers)

    @get(
        "/{slug:str}/history",
        operation_id="getGpuPriceHistory",
        summary="Daily min/median/max $/GPU-hour of a GPU family or variant",
        tags=["history"],
        raises=[NotFoundException, PermissionDeniedException],
    )
    async def gpu_history(
        self,
        request: Request,
        db: NamedDependency[AsyncSession],
        slug: FromPath[str],
        days: int = Parameter(default=30, ge=1, le=365, description="How many days back, today included. "
                              "Up to 30 for everyone; more needs a logged-in Pro or Enterprise session (else 403)."),
        market: Market = Parameter(default="on-demand", description="on-demand or spot prices."),
    ) -> GpuHistory:
        gpus = gpus_or_404(slug)
        await ensure_history_window(request, days)  # beyond 30 days: a Pro feature
        since = utcnow().date() - timedelta(days=days - 1)
        points = await daily_series(db, [g.slug for g in gpus], since, spot=market == "spot")
        return GpuHistory(gpu=slug.lower(), market=market, days=days, since=since, series=convert.daily_series(points))
