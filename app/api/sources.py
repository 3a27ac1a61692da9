"""GET /api/v1/sources and /api/v1/unknown-gpus: where the prices come from, and what we could not place."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from app.api import convert
from app.api.schemas import SourceList, UnknownGpuList
from app.services.prices import unknown_gpu_names
from app.services.sources import list_source_statuses


class SourcesController(Controller):
    path = "/api/v1"
    opt = {"permission": "public"}  # the price data: anyone, no login
    tags = ["sources"]

    @get("/sources", operation_id="listSources", summary="Fetch status and freshness of every price source")
    async def list_sources(self, db: NamedDependency[AsyncSession]) -> SourceList:
        return SourceList(items=[convert.source(status) for status in await list_source_statuses(db)])

    @get(
        "/unknown-gpus",
        operation_id="listUnknownGpus",
        summary="Provider GPU names not in the catalog, with offer counts",
    )
    async def list_unknown_gpus(self, db: NamedDependency[AsyncSession]) -> UnknownGpuList:
        return UnknownGpuList(items=[convert.unknown_gpu(*row) for row in await unknown_gpu_names(db)])
