"""Read side of the price aggregation: filtered, sorted, paginated offers and per-GPU summaries.

Pages, the JSON API and the CLI all read through here, so they agree on the same data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Numeric, Select, String, and_, bindparam, case, func, literal, literal_column, select, text, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import OFFER_ORIGIN_SNAPSHOT, Offer, PriceSource as SourceRow
from app.db.types import Money, utcnow
from app.services.freshness import Freshness, humanize_age, source_freshness
from app.services.inputs import InvalidField
from providers.base import PRICE_BASIS_HELP, PRICE_BASIS_LABELS, CpuArch, PriceBasis
from providers.fx import PriceConversion
from providers.gpus import GPUS, CanonicalGpu, gpus_in, interconnect, power_key
from providers.registry import SIMULATED, SOURCES, UnknownSource, get_source_class

DENSE_TFLOPS = case({slug: gpu.specs.fp16_tflops for slug, gpu in GPUS.items() if gpu.specs}, value=Offer.gpu_slug)
"""Dense FP16/BF16 tensor TFLOPS per GPU from the catalog; NULL for a GPU the catalog does not know
(or whose form factor the provider does not state)."""
# $ per dense TFLOP-hour, scaled by 10^6 before dividing: SQLite stores money as integer micros and
# divides integers, so this keeps 10^-12 $ of resolution there (PostgreSQL divides NUMERIC exactly).
# type_coerce: the literal must not go through Money's bind processing (it would become micros).
PRICE_PER_TFLOP_KEY = type_coerce(Offer.price_per_gpu_hour, Numeric()) * literal_column("1000000") / DENSE_TFLOPS

SORTS = {
    "price": (Offer.price_per_gpu_hour.asc(), Offer.id.asc()),
    # Cheapest compute first; offers without catalog specs have no value measure and sort last.
    "tflop_price": (PRICE_PER_TFLOP_KEY.asc().nulls_last(), Offer.price_per_gpu_hour.asc(), Offer.id.asc()),
    "-price": (Offer.price_per_gpu_hour.desc(), Offer.id.asc()),
    "instance_price": (Offer.price_per_hour.asc(), Offer.id.asc()),
    "-instance_price": (Offer.price_per_hour.desc(), Offer.id.asc()),
    # nulls_last: unknown GPUs / memory sort last on both SQLite and PostgreSQL (their defaults differ).
    "gpu": (Offer.gpu_slug.asc().nulls_last(), Offer.price_per_gpu_hour.asc(), Offer.id.asc()),
    "provider": (Offer.source.asc(), Offer.price_per_gpu_hour.asc(), Offer.id.asc()),
    "memory": (Offer.gpu_memory_gb.desc().nulls_last(), Offer.price_per_gpu_hour.asc(), Offer.id.asc()),
    "gpus": (Offer.gpu_count.desc(), Offer.price_per_gpu_hour.asc(), Offer.id.asc()),
    "updated": (Offer.observed_at.desc(), Offer.id.asc()),
}
MAX_PER_PAGE = 500
MAX_FILTER_TEXT = 128
"""A text filter (GPU, region, provider): longer than any real value, far under SQLite's LIKE limit."""


class InvalidQuery(InvalidField):
    """A filter value we cannot honour; the message is shown to the user (400), next to ``field``."""


PRICE_BASES = tuple(b.value for b in PriceBasis)
MAX_GPU_COUNT = Decimal(64)
MAX_TOTAL_MEMORY_GB = 100_000


def public_sources(stmt: Select, simulated: bool) -> Select:
    """Public price reads leave the simulated cloud out unless it is meant to be shown
    (``SandboxSettings.on_price_pages``)."""
    return stmt if simulated or not SIMULATED else stmt.where(Offer.source.not_in(list(SIMULATED)))


@dataclass(frozen=True)
class PriceQuery:
    gpu: str | None = None
    """A GPU family (``h100``) or variant slug (``h100-sxm``)."""
    min_memory_gb: int | None = None
    min_gpus: Decimal | None = None
    """GPUs per instance, at least (fractions count: a 1/8 slice is 0.125)."""
    max_gpus: Decimal | None = None
    min_total_memory_gb: int | None = None
    """GPU memory of the whole instance (GB per GPU × GPU count), at least."""
    max_price: Decimal | None = None
    """Upper bound on $/GPU-hour."""
    providers: tuple[str, ...] = ()
    region: str | None = None
    spot: bool | None = None
    available_only: bool = False
    """Only offers the provider reports available now (with ``include_unreported``, also the ones
    whose availability is not reported); an offer reported unavailable is never included."""
    include_unreported: bool = False
    price_basis: tuple[str, ...] = ()
    """Only offers whose price pays for one of these (``PriceBasis`` values); empty: every basis."""
    include_unknown: bool = True
    include_simulated: bool = False
    """The simulated sandbox cloud's offers: only where sandbox mode shows them (never from a URL)."""
    sort: str = "price"
    page: int = 1
    per_page: int = 50

    def validate(self) -> PriceQuery:
        for name, text in (("gpu", self.gpu), ("region", self.region), *(("provider", p) for p in self.providers)):
            if text is not None and len(text) > MAX_FILTER_TEXT:
                raise InvalidQuery(f"{name} is too long (at most {MAX_FILTER_TEXT} characters)", name)
        if self.gpu is not None and not gpus_in(self.gpu):
            raise InvalidQuery(f"unknown GPU {self.gpu!r}", "gpu")
        if self.min_memory_gb is not None and not 0 <= self.min_memory_gb <= 1024:
            raise InvalidQuery("min_memory must be between 0 and 1024 GB", "min_memory")
        for name, count in (("min_gpus", self.min_gpus), ("max_gpus", self.max_gpus)):
            if count is not None and not (count.is_finite() and 0 <= count <= MAX_GPU_COUNT):
                raise InvalidQuery(f"{name} must be between 0 and {MAX_GPU_COUNT} GPUs", name)
        if self.min_gpus is not None and self.max_gpus is not None and self.min_gpus > self.max_gpus:
            raise InvalidQuery("max_gpus must be at least min_gpus", "max_gpus")
        if self.min_total_memory_gb is not None and not 0 <= self.min_total_memory_gb <= MAX_TOTAL_MEMORY_GB:
            raise InvalidQuery(f"min_total_memory must be between 0 and {MAX_TOTAL_MEMORY_GB:,} GB",
                               "min_total_memory")
        # is_finite first: comparing NaN raises instead of answering False.
        if self.max_price is not None and not (self.max_price.is_finite() and 0 <= self.max_price <= 10_000):
            raise InvalidQuery("max_price must be between 0 and 10000 $/GPU-hour", "max_price")
        # The simulated cloud's offers are listed too (when enabled), so its name filters like any other.
        unknown = [p for p in self.providers if p not in SOURCES and p not in SIMULATED]
        if unknown:
            raise InvalidQuery(f"unknown provider {unknown[0]!r}", "provider")
        bad_basis = [b for b in self.price_basis if b not in PRICE_BASES]
        if bad_basis:
            raise InvalidQuery(f"price_basis must be one of: {', '.join(PRICE_BASES)} (not {bad_basis[0][:40]!r})",
                               "price_basis")
        if self.sort not in SORTS:
            raise InvalidQuery(f"sort must be one of: {', '.join(SORTS)}", "sort")
        if self.page < 1 or self.page > 100_000:
            raise InvalidQuery("page must be between 1 and 100000", "page")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise InvalidQuery(f"per_page must be between 1 and {MAX_PER_PAGE}", "per_page")
        return self


@dataclass(frozen=True, slots=True)
class OfferView:
    id: int
    source: str
    provider_name: str
    instance_type: str
    gpu: CanonicalGpu | None
    gpu_raw_name: str
    gpu_count: Decimal
    gpu_memory_gb: int | None
    vcpus: int | None
    ram_gb: int | None
    disk_gb: int | None
    region: str
    spot: bool
    price_per_hour: Decimal
    price_per_gpu_hour: Decimal
    available: bool | None
    buy_url: str
    observed_at: datetime
    origin: str
    freshness: Freshness
    age_label: str
    interconnect: str | None = None
    """How the instance's GPUs are linked (NVLink, Infinity Fabric, PCIe) when the provider's names or
    the form factor say so; None for a single GPU."""
    other_market_per_gpu_hour: Decimal | None = None
    """The same shape (provider, instance type, region) in the other market: the spot price of an
    on-demand offer, the on-demand price of a spot one; None when only one market lists it."""
    converted_from: PriceConversion | None = None
    """Set when the provider prices in another currency (its amount and the ECB rate's date)."""
    price_basis: PriceBasis | None = None
    """What the price pays for (GPU only, smallest VM, whole instance); None: not known."""
    price_includes: str = ""
    """The source's own sentence on what its price covers (from its docs)."""
    cpu_arch: CpuArch | None = None
    """Host CPU architecture where the source says it (or the GPU is a Grace superchip); None: not stated."""
    boot_seconds_min: int | None = None
    boot_seconds_max: int | None = None
    """Boot time the source publishes; None: not published."""

    @property
    def price_basis_label(self) -> str:
        return PRICE_BASIS_LABELS[self.price_basis] if self.price_basis else "not stated"

    @property
    def price_basis_help(self) -> str:
        return PRICE_BASIS_HELP[self.price_basis] if self.price_basis else "the source does not say what its price includes"

    @property
    def boot_time_label(self) -> str | None:
        """"3–5 min", "about 15 min", "90 s"; None when the source publishes no boot time."""
        low, high = self.boot_seconds_min, self.boot_seconds_max
        if low is None or high is None:
            return None
        if high < 120:
            return f"{low} s" if low == high else f"{low}–{high} s"
        lo_min, hi_min = round(low / 60), round(high / 60)
        return f"about {hi_min} min" if lo_min == hi_min else f"{lo_min}–{hi_min} min"

    @property
    def gpu_name(self) -> str:
        return self.gpu.name if self.gpu else self.gpu_raw_name

    @property
    def on_demand_per_gpu_hour(self) -> Decimal | None:
        return self.other_market_per_gpu_hour if self.spot else self.price_per_gpu_hour

    @property
    def spot_per_gpu_hour(self) -> Decimal | None:
        return self.price_per_gpu_hour if self.spot else self.other_market_per_gpu_hour

    @property
    def is_fraction(self) -> bool:
        """A slice of one GPU (Vultr's 1/8 A16): ``gpu_memory_gb`` is then the whole card's."""
        return self.gpu_count < 1

    @property
    def memory_per_gpu_gb(self) -> Decimal | None:
        """GPU memory this offer gives per GPU it bills for: a slice gets its share of the card."""
        if self.gpu_memory_gb is None:
            return None
        return self.total_memory_gb if self.is_fraction else Decimal(self.gpu_memory_gb)

    @property
    def total_memory_gb(self) -> Decimal | None:
        if self.gpu_memory_gb is None:
            return None
        return (self.gpu_memory_gb * self.gpu_count).normalize()

    @property
    def is_snapshot(self) -> bool:
        return self.origin == OFFER_ORIGIN_SNAPSHOT

    @property
    def price_per_tflop_hour(self) -> Decimal | None:
        """$ per dense FP16/BF16 TFLOP-hour (catalog specs); None without specs."""
        if self.gpu is None or self.gpu.specs is None:
            return None
        return self.price_per_gpu_hour / Decimal(self.gpu.specs.fp16_tflops)


def bookable_best_by_basis(offers: Sequence[OfferView]) -> dict[PriceBasis, Decimal]:
    """Lowest $/GPU-hour per price basis among offers not reported unavailable (never across bases)."""
    best: dict[PriceBasis, Decimal] = {}
    for offer in offers:
        if offer.available is False or offer.price_basis is None:
            continue
        current = best.get(offer.price_basis)
        if current is None or offer.price_per_gpu_hour < current:
            best[offer.price_basis] = offer.price_per_gpu_hour
    return best


@dataclass
class Page:
    items: list[OfferView]
    total: int
    page: int
    per_page: int
    best_by_basis: dict[PriceBasis, Decimal] = field(default_factory=dict)
    """Lowest $/GPU-hour per price basis across all matching offers (not just this page) that are
    not reported unavailable. Prices of different bases are never ranked against each other: a GPU
    rate is not a cheaper whole machine, so each basis has its own "best value"."""

    @property
    def best_price(self) -> Decimal | None:
        """The lowest of any basis (see ``best_basis`` for what it pays for)."""
        return min(self.best_by_basis.values(), default=None)

    @property
    def best_basis(self) -> PriceBasis | None:
        best = self.best_price
        return next((b for b, p in self.best_by_basis.items() if p == best), None)

    @property
    def mixes_bases(self) -> bool:
        return len(self.best_by_basis) > 1

    def is_best_value(self, offer: OfferView) -> bool:
        """The "best value" badge: the lowest price among offers of the same price basis, never on
        an offer known to be unavailable."""
        return offer.available is not False and offer.price_per_gpu_hour == self.best_by_basis.get(offer.price_basis)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass
class GpuSummary:
    gpu: CanonicalGpu
    cheapest: Decimal
    cheapest_spot: Decimal | None
    offer_count: int
    provider_count: int
    by_provider: dict[str, Decimal] = field(default_factory=dict)


def _filtered(query: PriceQuery) -> Select:
    stmt = select(Offer)
    conds = []
    if query.gpu:
        conds.append(Offer.gpu_slug.in_([g.slug for g in gpus_in(query.gpu)]))
    elif not query.include_unknown:
        conds.append(Offer.gpu_slug.is_not(None))
    if query.min_memory_gb is not None:
        conds.append(Offer.gpu_memory_gb >= query.min_memory_gb)
    if query.min_gpus is not None:
        conds.append(Offer.gpu_count >= query.min_gpus)
    if query.max_gpus is not None:
        conds.append(Offer.gpu_count <= query.max_gpus)
    if query.min_total_memory_gb is not None:
        # gpu_count is Money (integer micros on SQLite): the bound total goes through Money too, so
        # count × memory and the total are in the same unit on both engines.
        total = literal(Decimal(query.min_total_memory_gb), Money())
        conds.append(Offer.gpu_count * Offer.gpu_memory_gb >= total)
    if query.max_price is not None:
        conds.append(Offer.price_per_gpu_hour <= query.max_price)
    if query.providers:
        conds.append(Offer.source.in_(query.providers))
    if query.region:
        conds.append(func.lower(Offer.region).contains(query.region.lower()))
    if query.spot is not None:
        conds.append(Offer.spot.is_(query.spot))
    if query.available_only:
        conds.append(Offer.available.is_not(False) if query.include_unreported else Offer.available.is_(True))
    if query.price_basis:
        conds.append(Offer.price_basis.in_(query.price_basis))
    if not query.include_simulated and SIMULATED:
        conds.append(Offer.source.not_in(list(SIMULATED)))
    return stmt.where(and_(*conds)) if conds else stmt


async def source_rows(session: AsyncSession) -> dict[str, SourceRow]:
    return {row.name: row for row in (await session.execute(select(SourceRow))).scalars()}


def poll_interval(source: str) -> int:
    try:
        return get_source_class(source).POLL_INTERVAL_SECONDS
    except UnknownSource:  # offers of a source since removed from the registry
        return 900


def to_view(row: Offer, source: SourceRow | None, now: datetime, freshness: Freshness | None = None) -> OfferView:
    """``source`` is the offer's source status row: it gives the freshness (``freshness``: already
    worked out for ``now``), and for live offers the time they were last confirmed (every
    successful poll confirms every offer it still lists)."""
    observed = row.observed_at
    if row.origin == OFFER_ORIGIN_SNAPSHOT:
        age = f"snapshot of {observed:%Y-%m-%d}"
    else:
        if source is not None and source.last_success_at is not None and source.last_success_at > observed:
            observed = source.last_success_at
        age = humanize_age(now - observed)
    return OfferView(
        id=row.id, source=row.source, provider_name=display_name(row.source),
        instance_type=row.instance_type, gpu=GPUS.get(row.gpu_slug) if row.gpu_slug else None,
        gpu_raw_name=row.gpu_raw_name, gpu_count=row.gpu_count, gpu_memory_gb=row.gpu_memory_gb,
        vcpus=row.vcpus, ram_gb=row.ram_gb, disk_gb=row.disk_gb, region=row.region, spot=row.spot,
        price_per_hour=row.price_per_hour, price_per_gpu_hour=row.price_per_gpu_hour,
        # A simulated cloud sells nothing: no buy link (its provider name says "simulated").
        available=row.available, buy_url="" if row.source in SIMULATED else row.buy_url, observed_at=observed,
        origin=row.origin,
        freshness=source_freshness(source, poll_interval(row.source), now) if freshness is None else freshness,
        age_label=age,
        # Between the GPUs of one machine: nothing to say for one GPU or a slice.
        interconnect=interconnect(GPUS.get(row.gpu_slug) if row.gpu_slug else None,
                                  row.gpu_raw_name, row.gpu_hint or "", row.instance_type)
        if row.gpu_count > 1 else None,
        converted_from=row.conversion,
        price_basis=PriceBasis(row.price_basis) if row.price_basis in PRICE_BASES else None,
        price_includes=price_includes(row.source),
        cpu_arch=CpuArch(row.cpu_arch) if row.cpu_arch in CPU_ARCHES else None,
        boot_seconds_min=row.boot_seconds_min, boot_seconds_max=row.boot_seconds_max,
    )


CPU_ARCHES = tuple(a.value for a in CpuArch)


def price_includes(source: str) -> str:
    try:
        return getattr(get_source_class(source), "PRICE_INCLUDES", "")
    except UnknownSource:
        return ""


async def with_other_market(session: AsyncSession, views: list[OfferView]) -> list[OfferView]:
    """Each offer with its shape's price in the other market (one query for the whole page), so
    on-demand and spot read side by side as ``sky show-gpus`` shows them."""
    if not views:
        return views
    shapes = {(v.source, v.instance_type, v.region) for v in views}
    # By id: where one shape is listed twice in a market, the later row's price is the one shown.
    stmt = select(Offer.source, Offer.instance_type, Offer.region, Offer.spot, Offer.price_per_gpu_hour).where(
        Offer.source.in_({v.source for v in views}), Offer.instance_type.in_({v.instance_type for v in views})
    ).order_by(Offer.id)
    prices = {(src, itype, region, spot): price for src, itype, region, spot, price in (await session.execute(stmt)).all()
              if (src, itype, region) in shapes}
    return [replace(v, other_market_per_gpu_hour=prices.get((v.source, v.instance_type, v.region, not v.spot)))
            for v in views]


def display_name(source: str) -> str:
    try:
        return get_source_class(source).DISPLAY_NAME
    except UnknownSource:  # offers of a source since removed from the registry
        return source


def _clusters_in_price(query: PriceQuery) -> bool:
    """A GPU or memory filter picks offers that sit together on the price scale (all H100s are
    expensive). "Cheapest first" by walking the price index would then read most of the table
    before finding a match (200 ms for gpu=h100 at 100k offers), so such queries sort directly."""
    return query.gpu is not None or query.min_memory_gb is not None


def _page_order(query: PriceQuery, direct: bool) -> tuple:
    order = SORTS[query.sort]
    if direct and query.sort in ("price", "-price"):
        key = Offer.price_per_gpu_hour + 0  # an expression no index serves: the planner filters first
        order = (key.asc() if query.sort == "price" else key.desc(), *order[1:])
    return order


async def list_offers(session: AsyncSession, query: PriceQuery, now: datetime | None = None) -> Page:
    query.validate()
    now = now or utcnow()
    base = _filtered(query)
    direct = _clusters_in_price(query)
    matching = base.subquery()
    # Best value: an offer reported unavailable never holds it, even when it is the cheapest.
    if direct:  # one pass over the (few) matching offers, index-only for a GPU filter
        bookable = case((matching.c.available.is_(False), None), else_=matching.c.price_per_gpu_hour)
        grouped = (await session.execute(select(matching.c.price_basis, func.count(), func.min(bookable))
                                         .group_by(matching.c.price_basis))).all()
        total = sum(n for _, n, _ in grouped)
        best_rows = [(basis, price) for basis, _, price in grouped]
    else:  # broad queries: each basis's lowest price is the first match in a walk of the price index
        bases = [b for b in PRICE_BASES if not query.price_basis or b in query.price_basis]
        bookable = base.where(Offer.available.is_not(False))
        per_basis = [bookable.where(Offer.price_basis == b).with_only_columns(Offer.price_per_gpu_hour)
                     .order_by(Offer.price_per_gpu_hour).limit(1).scalar_subquery() for b in bases]
        total, *mins = (await session.execute(
            select(select(func.count()).select_from(matching).scalar_subquery(), *per_basis))).one()
        best_rows = list(zip(bases, mins))
    # An offer whose basis is unknown (a source no longer registered) is compared with nothing.
    best_by_basis = {PriceBasis(b): price for b, price in best_rows if b in PRICE_BASES and price is not None}
    stmt = base.order_by(*_page_order(query, direct)).limit(query.per_page).offset((query.page - 1) * query.per_page)
    rows = (await session.execute(stmt)).scalars().all()
    sources = await source_rows(session)
    return Page(
        items=await with_other_market(session, [to_view(r, sources.get(r.source), now) for r in rows]),
        total=total, page=query.page, per_page=query.per_page, best_by_basis=best_by_basis,
    )


async def cheapest_per_gpu(
    session: AsyncSession, spot: bool = False, *, simulated: bool = False
) -> dict[str, tuple[Decimal, int]]:
    """Lowest $/GPU-hour and offer count per canonical GPU (one grouped query, index-backed)."""
    stmt = (
        select(Offer.gpu_slug, func.min(Offer.price_per_gpu_hour), func.count())
        .where(Offer.gpu_slug.is_not(None), Offer.spot.is_(spot))
        .group_by(Offer.gpu_slug)
    )
    rows = (await session.execute(public_sources(stmt, simulated))).all()
    return {slug: (price, count) for slug, price, count in rows if slug in GPUS}


# The lowest $/GPU-hour per GPU by walking ix_offers_gpu_price (gpu_slug, spot, price_per_gpu_hour):
# one index probe for the next GPU and one for its first (cheapest) entry, so the cost grows with the
# number of GPUs (~50), not with the number of offers (a loose index scan; PostgreSQL and SQLite).
# ``{hidden}`` leaves the simulated cloud out of public reads (see ``public_sources``).
_CHEAPEST_SQL = (
    "WITH RECURSIVE gpus(slug) AS ("
    " SELECT min(gpu_slug) FROM offers WHERE gpu_slug IS NOT NULL AND spot = :spot{hidden}"
    " UNION ALL"
    " SELECT (SELECT min(o.gpu_slug) FROM offers o WHERE o.gpu_slug > g.slug AND o.spot = :spot{hidden_o})"
    " FROM gpus g WHERE g.slug IS NOT NULL)"
    " SELECT g.slug, (SELECT o.price_per_gpu_hour FROM offers o WHERE o.gpu_slug = g.slug AND o.spot = :spot{hidden_o}"
    " ORDER BY o.price_per_gpu_hour LIMIT 1) AS price"
    " FROM gpus g WHERE g.slug IS NOT NULL"
)


def _cheapest_statement(hide: bool):
    sql = _CHEAPEST_SQL.format(hidden=" AND source NOT IN :hidden" if hide else "",
                               hidden_o=" AND o.source NOT IN :hidden" if hide else "")
    statement = text(sql).columns(slug=String(), price=Money())
    return statement.bindparams(bindparam("hidden", expanding=True)) if hide else statement


async def cheapest_price_per_gpu(session: AsyncSession, spot: bool = False, *,
                                 simulated: bool = False) -> dict[str, Decimal]:
    """Lowest $/GPU-hour per canonical GPU in one market: what ``cheapest_per_gpu`` answers without
    the offer counts, which need every row; this needs ~2 index probes per GPU."""
    hide = not simulated and bool(SIMULATED)
    params = {"spot": spot, **({"hidden": sorted(SIMULATED)} if hide else {})}
    rows = await session.execute(_cheapest_statement(hide), params)
    return {slug: price for slug, price in rows.all() if slug in GPUS}


async def price_matrix(
    session: AsyncSession, spot: bool = False, gpu_slugs: Sequence[str] | None = None, *, simulated: bool = False
) -> tuple[list[str], list[GpuSummary]]:
    """Rows of GPUs, columns of providers (generated from the data), cells = cheapest $/GPU-h."""
    stmt = (
        select(Offer.gpu_slug, Offer.source, func.min(Offer.price_per_gpu_hour), func.count())
        .where(Offer.gpu_slug.is_not(None), Offer.spot.is_(spot))
        .group_by(Offer.gpu_slug, Offer.source)
    )
    if gpu_slugs is not None:
        stmt = stmt.where(Offer.gpu_slug.in_(list(gpu_slugs)))
    cells = [cell for cell in (await session.execute(public_sources(stmt, simulated))).all() if cell[0] in GPUS]
    spot_min = {} if spot else await cheapest_price_per_gpu(session, True, simulated=simulated)
    providers = sorted({source for _, source, _, _ in cells}, key=display_name)
    summaries: dict[str, GpuSummary] = {}
    for slug, source, price, count in cells:
        summary = summaries.get(slug)
        if summary is None:
            summary = summaries[slug] = GpuSummary(GPUS[slug], price, spot_min.get(slug), 0, 0)
        summary.by_provider[source] = price
        summary.cheapest = min(summary.cheapest, price)
        summary.offer_count += count
        summary.provider_count += 1
    ordered = sorted(summaries.values(), key=lambda s: power_key(s.gpu))
    return providers, ordered


async def unknown_gpu_names(session: AsyncSession) -> list[tuple[str, str, int]]:
    """Provider spellings the catalog could not place: (source, raw name, offer count)."""
    stmt = (
        select(Offer.source, Offer.gpu_raw_name, func.count())
        .where(Offer.gpu_slug.is_(None))
        .group_by(Offer.source, Offer.gpu_raw_name)
        .order_by(Offer.source, Offer.gpu_raw_name)
    )
    return [tuple(r) for r in (await session.execute(stmt)).all()]


async def regions(session: AsyncSession, *, simulated: bool = False) -> list[str]:
    stmt = public_sources(select(Offer.region).distinct().order_by(Offer.region), simulated)
    return list((await session.execute(stmt)).scalars())
