"""``/``: the price dashboard (filter form, GPU x provider matrix, offers table)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from litestar import Request, Response, get
from litestar.datastructures import MultiDict
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.types import utcnow
from app.services.prices import Page, PriceQuery, list_offers, regions
from app.web.form_state import build_with_form
from app.web.formatting import money
from app.web.notices import Notice, freshness_by_source, freshness_notices
from app.web.pages.common import PageMeta, moves_here, render, simulated_for_viewer
from app.web.pages.filters import parse_price_query
from app.web.page_cache import cached_page
from app.web.pages.matrix import PriceMatrix, build_matrix
from app.web.queries import market_by_gpu, sources_with_offers
from app.web.source_info import SourceInfo, source_info
from app.web.urls import MARKET_BY_SPOT, offers_url
from providers.gpus import FAMILIES, gpus_in

SORT_LABELS = {
    "price": "Cheapest per GPU",
    "-price": "Priciest per GPU",
    "instance_price": "Cheapest instance",
    "-instance_price": "Priciest instance",
    "tflop_price": "Cheapest per TFLOP",
    "gpu": "GPU name",
    "provider": "Provider",
    "memory": "Most GPU memory",
    "gpus": "Most GPUs",
    "updated": "Recently updated",
}
MARKET_LABELS = {"any": "Any", "on-demand": "On-demand", "spot": "Spot"}


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class OptionGroup:
    label: str
    options: list[Option]


@dataclass(frozen=True)
class FilterForm:
    gpu_groups: list[OptionGroup]
    providers: list[SourceInfo]
    regions: list[str]
    sorts: list[Option]
    markets: list[Option]
    market: str


@dataclass(frozen=True)
class SortHeader:
    label: str
    url: str
    aria_sort: str | None
    """ascending/descending when the table is sorted by this column (also drives the arrow)."""


@dataclass(frozen=True)
class PageLink:
    label: str
    url: str | None
    current: bool = False


@dataclass(frozen=True)
class Dashboard:
    query: PriceQuery
    page: Page
    matrix: PriceMatrix
    form: FilterForm
    notices: list[Notice]
    headers: dict[str, SortHeader]
    pagination: list[PageLink]

    @property
    def first_page_url(self) -> str:
        return offers_url(replace(self.query, page=1))


def gpu_option_groups(present: set[str], selected: str | None) -> list[OptionGroup]:
    """One group per GPU family present in the data: "all variants" plus each variant with offers
    (and the offers whose form factor the provider does not state, labelled so)."""
    groups = []
    for family, variants in sorted(FAMILIES.items(), key=lambda item: item[1][0].model):
        members = gpus_in(family)
        shown = [gpu for gpu in members if gpu.slug in present or gpu.slug == selected]
        if not shown and selected != family:
            continue
        options = [Option(family, f"{variants[0].model}, all variants")] if len(members) > 1 else []
        options += [Option(gpu.slug, f"{gpu.name} ({gpu.note})" if gpu.note else gpu.name) for gpu in shown]
        groups.append(OptionGroup(variants[0].model, options))
    return groups


# column -> (sort key when first clicked, the opposite key or None, direction of the first key)
_COLUMNS = {
    "gpu": ("gpu", None, "ascending"),
    "price": ("price", "-price", "ascending"),
    "instance_price": ("instance_price", "-instance_price", "ascending"),
    "tflop_price": ("tflop_price", None, "ascending"),
    "provider": ("provider", None, "ascending"),
    "updated": ("updated", None, "descending"),
}
_LABELS = {"gpu": "GPU", "price": "$/GPU-h", "instance_price": "Instance", "tflop_price": "$/TFLOP-h",
           "provider": "Provider", "updated": "Updated"}


def sort_headers(query: PriceQuery) -> dict[str, SortHeader]:
    """Header links that keep every filter; clicking the sorted column again reverses it."""
    headers = {}
    for column, (key, reverse, direction) in _COLUMNS.items():
        flipped = "descending" if direction == "ascending" else "ascending"
        if query.sort == key:
            aria, target = direction, reverse or key
        elif reverse and query.sort == reverse:
            aria, target = flipped, key
        else:
            aria, target = None, key
        headers[column] = SortHeader(_LABELS[column], offers_url(replace(query, sort=target, page=1)), aria)
    return headers


def pagination(query: PriceQuery, page: Page, window: int = 2) -> list[PageLink]:
    if page.pages <= 1:
        return []

    def link(number: int, label: str | None = None) -> PageLink:
        return PageLink(label or str(number), offers_url(replace(query, page=number)), number == page.page)

    numbers = sorted({1, page.pages, *range(max(1, page.page - window), min(page.pages, page.page + window) + 1)})
    links = [link(page.page - 1, "‹ Previous") if page.page > 1 else PageLink("‹ Previous", None)]
    previous = 0
    for number in numbers:
        if number - previous > 1:
            links.append(PageLink("…", None))
        links.append(link(number))
        previous = number
    links.append(link(page.page + 1, "Next ›") if page.page < page.pages else PageLink("Next ›", None))
    return links


async def build_dashboard(session: AsyncSession, query: PriceQuery) -> Dashboard:
    now = utcnow()
    page = await list_offers(session, query, now)
    simulated = query.include_simulated
    sources = await sources_with_offers(session, simulated=simulated)
    form = FilterForm(
        gpu_groups=gpu_option_groups(set(await market_by_gpu(session, simulated=simulated)), query.gpu),
        providers=sorted((source_info(name) for name in sources), key=lambda s: s.display_name.lower()),
        regions=await regions(session, simulated=simulated),
        sorts=[Option(key, label) for key, label in SORT_LABELS.items()],
        markets=[Option(key, label) for key, label in MARKET_LABELS.items()],
        market=MARKET_BY_SPOT[query.spot],
    )
    return Dashboard(
        query=query,
        page=page,
        matrix=await build_matrix(session, query),
        form=form,
        notices=freshness_notices(page.items, await freshness_by_source(session, sources, now)),
        headers=sort_headers(query),
        pagination=pagination(query, page),
    )


def dashboard_meta(view: Dashboard) -> PageMeta:
    query = view.query
    gpus = gpus_in(query.gpu) if query.gpu else ()
    subject = (gpus[0].model if len(gpus) > 1 or not gpus[0].form_factor_stated else gpus[0].name) if gpus else "GPU cloud"
    providers = len(view.form.providers)
    cheapest = f" from {money(view.page.best_price)} per GPU-hour" if view.page.best_price is not None else ""
    return PageMeta(
        title=f"{subject} prices{cheapest}: compare {providers} providers · ComputeHub",
        description=(
            f"Compare {subject} rental prices across {providers} GPU cloud providers: on-demand and spot "
            "$/GPU-hour, regions and availability, each price with its source and age."
        ),
        path="/",
        noindex=replace(query, include_simulated=False) != PriceQuery(),
    )


@get("/", name="dashboard", permission="public", include_in_schema=False)
async def dashboard(request: Request, db: NamedDependency[AsyncSession]) -> Template | Response:
    async def page(session: AsyncSession) -> Template:
        simulated = await simulated_for_viewer(request, session)

        async def build(params: MultiDict) -> Dashboard:
            return await build_dashboard(session, parse_price_query(params, include_simulated=simulated))

        view, form = await build_with_form(build, request.query_params)
        return render(request, "dashboard.html", dashboard_meta(view), status=form.status, view=view, fields=form,
                      move_here=await moves_here(request, session))

    return await cached_page(request, db, page)
