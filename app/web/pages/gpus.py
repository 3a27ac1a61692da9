"""``/gpus`` (every GPU family) and ``/gpus/{slug}`` (a family or one variant: specs, offers, history)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from litestar import Request, Response, get
from litestar.datastructures import MultiDict
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.history_access import PUBLIC_HISTORY_DAYS
from app.db.types import utcnow
from app.services.history import DailyPoint, daily_series
from app.services.prices import InvalidQuery, OfferView, bookable_best_by_basis
from app.web.charts import SCALES, history_figure, series_label, variants_in
from app.web.form_state import build_with_form
from app.web.formatting import money
from app.web.notices import Notice, freshness_notices
from app.web.pages.common import PageMeta, render, simulated_shown
from app.web.pages.compare import by_power
from app.web.page_cache import cached_page
from app.web.queries import GpuMarket, cheapest_offer_per_source, market_by_family, market_by_gpu
from app.web.urls import compare_url
from providers.base import PRICE_BASIS_LABELS
from providers.gpus import FAMILIES, GPUS, UNSTATED, CanonicalGpu, family_name, gpus_in

HISTORY_DAYS = PUBLIC_HISTORY_DAYS  # more is a Pro feature, served by the API (app/billing/history_access.py)


@dataclass(frozen=True)
class FamilyEntry:
    slug: str
    name: str
    vendor: str
    memory: str
    market: GpuMarket | None


@dataclass(frozen=True)
class VariantEntry:
    gpu: CanonicalGpu
    market: GpuMarket | None


@dataclass(frozen=True)
class HistoryRow:
    point: DailyPoint
    label: str


@dataclass(frozen=True)
class HistoryOptions:
    """What the history chart shows, from ``?variant=&days=&scale=`` (the form under the chart)."""
    variant: str | None = None
    """A variant of this page chosen by the user; None: the best covered one, and the table lists all."""
    days: int = HISTORY_DAYS
    scale: str = "linear"


def parse_history_options(params: Mapping, page_slug: str) -> HistoryOptions:
    """Bad values raise InvalidQuery naming the field (the page comes back with the message there)."""
    variant = (params.get("variant") or "").strip().lower() or None
    if variant is not None and variant not in {gpu.slug for gpu in gpus_in(page_slug)}:
        raise InvalidQuery(f"variant: {variant[:40]!r} is not a variant of this GPU", "variant")
    raw_days = (params.get("days") or "").strip()
    days = HISTORY_DAYS
    if raw_days:
        # length first: int() of a long digit string is slow
        if not (raw_days.isascii() and raw_days.isdigit() and len(raw_days) <= 3 and 1 <= int(raw_days) <= HISTORY_DAYS):
            raise InvalidQuery(f"days: choose a whole number of days from 1 to {HISTORY_DAYS}, got {raw_days[:40]!r}", "days")
        days = int(raw_days)
    scale = (params.get("scale") or "").strip() or "linear"
    if scale not in SCALES:
        raise InvalidQuery(f"scale: choose {' or '.join(SCALES)}, got {scale[:40]!r}", "scale")
    return HistoryOptions(variant, days, scale)


@dataclass(frozen=True)
class ChartVariant:
    slug: str
    name: str


@dataclass(frozen=True)
class GpuPage:
    slug: str
    name: str
    """"NVIDIA H100" for a family, "NVIDIA H100 SXM 80GB" for a variant."""
    family: str
    is_family: bool
    variants: list[VariantEntry]
    """The family's variants (or the one variant): each has specs and a page of its own."""
    unstated: list[VariantEntry]
    """Offers whose form factor the provider does not state, listed under the family (no specs)."""
    market: GpuMarket | None
    best_offers: list[OfferView]
    notices: list[Notice]
    chart_json: str | None
    history: list[HistoryRow]
    compare_url: str
    options: HistoryOptions = HistoryOptions()
    chart_variants: tuple[ChartVariant, ...] = ()
    """Variants with history in the range, the initially shown one first (the chart's selector)."""
    shown_variant: str | None = None

    def from_by_basis(self, spot: bool) -> list[tuple[str, Decimal]]:
        """The lowest price of each price basis in one market, cheapest first, labelled: the lead's
        "from" price is then never a GPU-only rate passed off as the cheapest machine."""
        best = bookable_best_by_basis([o for o in self.best_offers if o.spot is spot])
        return [(PRICE_BASIS_LABELS[basis], price) for basis, price in sorted(best.items(), key=lambda item: item[1])]

    def is_best_value(self, offer: OfferView) -> bool:
        """The cheapest bookable offer of its price basis (same rule as ``Page.is_best_value``)."""
        best = bookable_best_by_basis(self.best_offers)
        return offer.available is not False and offer.price_per_gpu_hour == best.get(offer.price_basis)


def family_entries(markets: dict[str, GpuMarket]) -> list[FamilyEntry]:
    """Families with offers first (most powerful first), then the rest of the catalog by name."""
    by_family = market_by_family(markets)
    entries = []
    for slug, variants in FAMILIES.items():
        sizes = sorted({gpu.memory_gb for gpu in variants})
        memory = " / ".join(str(size) for size in sizes) + " GB"
        entries.append(FamilyEntry(slug, variants[0].model, variants[0].vendor, memory, by_family.get(slug)))
    power = {slug: max(gpu.specs.fp16_tflops for gpu in variants) for slug, variants in FAMILIES.items()}
    return sorted(entries, key=lambda e: (e.market is None, -power[e.slug] if e.market else 0, e.name))


async def build_gpu_page(session: AsyncSession, slug: str, params: Mapping | None = None,
                         simulated: bool = False) -> GpuPage:
    gpus = gpus_in(slug)
    if not gpus:
        raise NotFoundException(f"Unknown GPU {slug!r}")
    slug = slug.lower()
    options = parse_history_options(params or {}, slug)
    now = utcnow()
    markets = await market_by_gpu(session, simulated=simulated)
    is_family = slug in FAMILIES
    shown_market = GpuMarket()
    for gpu in gpus:
        if gpu.slug in markets:
            shown_market.merge(markets[gpu.slug])
    offers = await cheapest_offer_per_source(session, gpus, now, simulated=simulated)
    since = (now - timedelta(days=options.days)).date()
    points = await daily_series(session, [gpu.slug for gpu in gpus], since=since)
    charted = variants_in(points)
    shown = options.variant if options.variant in charted else (charted[0] if charted else None)
    listed = [p for p in points if options.variant is None or p.gpu_slug == options.variant]
    history = [HistoryRow(p, series_label(p.gpu_slug, p.spot))
               for p in sorted(listed, key=lambda p: (p.day, p.spot, p.gpu_slug), reverse=True)]
    family = gpus[0].family
    variants = FAMILIES[family] if is_family else gpus
    compare_with = by_power(variants if is_family else (gpus[0], *(g for g in FAMILIES[family] if g.slug in markets)))
    return GpuPage(
        slug=slug,
        name=f"{gpus[0].vendor} {family_name(family) if is_family else gpus[0].name}",
        family=family,
        is_family=is_family,
        variants=[VariantEntry(gpu, markets.get(gpu.slug)) for gpu in variants],
        unstated=[VariantEntry(gpu, markets[gpu.slug]) for gpu in UNSTATED[family] if is_family and gpu.slug in markets],
        market=shown_market if shown_market.offer_count else None,
        best_offers=offers,
        notices=freshness_notices(offers, {o.source: o.freshness for o in offers}),
        chart_json=history_figure(points, shown, options.scale),
        history=history,
        compare_url=compare_url(list(dict.fromkeys(g.slug for g in compare_with))[:8]),
        options=options,
        chart_variants=tuple(ChartVariant(v, GPUS[v].name) for v in charted),
        shown_variant=shown,
    )


def gpu_meta(view: GpuPage) -> PageMeta:
    if view.market and view.market.cheapest is not None:
        price = f" from {money(view.market.cheapest)}/GPU-hour at {len(view.market.providers)} providers"
    else:
        price = ": specs and price history"
    return PageMeta(
        title=f"{view.name} cloud prices{price} · ComputeHub",
        description=(
            f"Rent an {view.name}: the cheapest on-demand and spot offers per cloud provider, "
            f"daily price history and specs."
        ),
        path=f"/gpus/{view.slug}",
    )


@get("/gpus", permission="public", name="gpu_index", include_in_schema=False)
async def gpu_index(request: Request, db: NamedDependency[AsyncSession]) -> Template | Response:
    async def page(session: AsyncSession) -> Template:
        entries = family_entries(await market_by_gpu(session, simulated=simulated_shown(request)))
        on_offer = sum(1 for e in entries if e.market)
        meta = PageMeta(
            title="GPU cloud prices by model: H100, H200, A100, L40S, RTX 4090 and more · ComputeHub",
            description=f"{on_offer} GPU models on offer right now: the cheapest $/GPU-hour for each, across cloud providers.",
            path="/gpus",
        )
        return render(request, "gpu_index.html", meta, entries=entries)

    return await cached_page(request, db, page)


@get("/gpus/{slug:str}", permission="public", name="gpu_page", include_in_schema=False)
async def gpu_page(request: Request, db: NamedDependency[AsyncSession],
                   slug: FromPath[str]) -> Template | Response | Redirect:
    gpu = GPUS.get(slug.lower())
    if gpu is not None and not gpu.form_factor_stated:
        # An unstated entry is not a variant: its offers are listed on the family's page.
        return Redirect(path=f"/gpus/{gpu.family}", status_code=301)
    if not gpus_in(slug):
        raise NotFoundException(f"Unknown GPU {slug!r}")  # before the cache: a made-up slug is never a key
    simulated = simulated_shown(request)

    async def page(session: AsyncSession) -> Template:
        async def build(params: MultiDict) -> GpuPage:
            return await build_gpu_page(session, slug, params, simulated)

        view, form = await build_with_form(build, request.query_params)
        return render(request, "gpu.html", gpu_meta(view), status=form.status, view=view, fields=form)

    return await cached_page(request, db, page)
