"""``/sources``: where every price comes from and how fresh it is, plus the GPU names we could not place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.types import utcnow
from app.services.prices import unknown_gpu_names
from app.services.sources import SourceStatus, list_source_statuses
from app.settings import Settings
from app.web.page_cache import cached_page
from app.web.pages.common import PageMeta, render
from app.web.source_info import source_info


@dataclass(frozen=True)
class SourcePanel:
    status: SourceStatus
    pricing_url: str
    not_configured: bool
    """No operator key: the source is not polled (it may still show snapshot prices)."""

    @property
    def state(self) -> str:
        if self.not_configured and self.status.freshness.state in ("no_data", "not_configured"):
            return "not_configured"
        return self.status.freshness.state

    @property
    def state_label(self) -> str:
        if self.state == "not_configured":
            return "not configured (no operator key)"
        return self.status.freshness.label

    @property
    def key_note(self) -> str:
        """Prices from earlier (e.g. the snapshot) but no key now: say why they will not refresh."""
        return "not configured (no operator key)" if self.not_configured and self.state != "not_configured" else ""


@dataclass(frozen=True)
class UnknownName:
    provider: str
    raw_name: str
    offer_count: int


async def source_panels(session: AsyncSession, settings: Settings, now: datetime) -> list[SourcePanel]:
    panels = [SourcePanel(status, status.pricing_url, status.key_missing)
              for status in await list_source_statuses(session, now, settings)]
    return sorted(panels, key=lambda p: (p.status.offer_count == 0, p.status.display_name.lower()))


async def unknown_names(session: AsyncSession) -> list[UnknownName]:
    return [UnknownName(source_info(source).display_name, raw, count)
            for source, raw, count in await unknown_gpu_names(session)]


@get("/sources", permission="public", name="sources", include_in_schema=False)
async def sources_page(request: Request, db: NamedDependency[AsyncSession]) -> Template | Response:
    async def page(session: AsyncSession) -> Template:
        panels = await source_panels(session, request.app.state.settings, utcnow())
        meta = PageMeta(
            title="Price sources and their freshness · ComputeHub",
            description=(
                f"Where ComputeHub's GPU prices come from: {len(panels)} provider APIs and public price lists, "
                "when each was last updated, and any errors."
            ),
            path="/sources",
        )
        return render(request, "sources.html", meta, panels=panels, unknown=await unknown_names(session))

    return await cached_page(request, db, page)
