"""Domain objects -> API schemas. Every money value goes through ``money_str``."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache

from app.api import schemas as s
from app.db.models import PriceHistory
from app.db.types import money
from app.services.freshness import Freshness
from app.services.history import DailyPoint
from app.services.prices import OfferView, Page, display_name
from app.services.sources import SourceStatus
from providers.fx import PUBLISHER, PriceConversion
from providers.gpus import FAMILIES, GPUS, CanonicalGpu, family_name


def money_str(value: Decimal) -> str:
    """Exact money for JSON: a string at the stored scale, e.g. "2.990000"."""
    return format(money(value), "f")


def optional_money(value: Decimal | None) -> str | None:
    return None if value is None else money_str(value)


def optional_unit_price(value: Decimal | None) -> str | None:
    """A small unit price ($/TFLOP-hour) as an exact string with 8 decimals, e.g. "0.003023"."""
    return None if value is None else format(value.quantize(Decimal("1e-8")), "f")


def market(spot: bool) -> s.Market:
    return "spot" if spot else "on-demand"


def count(value: Decimal) -> int | float:
    """GPU counts are whole numbers except for sliced GPUs (0.5, 0.25)."""
    return int(value) if value == value.to_integral_value() else float(value)


def provider_ref(source: str) -> s.ProviderRef:
    return s.ProviderRef(name=source, display_name=display_name(source))


@lru_cache(maxsize=512)  # one per catalog GPU, shared (never changed once built)
def gpu_ref(gpu: CanonicalGpu | None) -> s.GpuRef | None:
    if gpu is None:
        return None
    return s.GpuRef(slug=gpu.slug, name=gpu.name, family=gpu.family, memory_gb=gpu.memory_gb,
                    form_factor=gpu.form_factor, form_factor_stated=gpu.form_factor_stated)


def freshness(value: Freshness) -> s.Freshness:
    return s.Freshness(state=value.state, label=value.label, as_of=value.as_of)


def offer(view: OfferView, page: Page) -> s.Offer:
    return s.Offer(
        id=view.id, provider=s.ProviderRef(name=view.source, display_name=view.provider_name),
        instance_type=view.instance_type, gpu=gpu_ref(view.gpu), gpu_raw_name=view.gpu_raw_name,
        gpu_count=count(view.gpu_count), gpu_memory_gb=view.gpu_memory_gb, vcpus=view.vcpus,
        ram_gb=view.ram_gb, disk_gb=view.disk_gb, region=view.region, market=market(view.spot),
        price_per_hour=money_str(view.price_per_hour), price_per_gpu_hour=money_str(view.price_per_gpu_hour),
        currency="USD", available=view.available, buy_url=view.buy_url, observed_at=view.observed_at,
        age=view.age_label, origin=view.origin, freshness=freshness(view.freshness),
        best_value=page.is_best_value(view), price_per_tflop_hour=optional_unit_price(view.price_per_tflop_hour),
        total_gpu_memory_gb=None if view.total_memory_gb is None else count(view.total_memory_gb),
        interconnect=view.interconnect,
        on_demand_price_per_gpu_hour=optional_money(view.on_demand_per_gpu_hour),
        spot_price_per_gpu_hour=optional_money(view.spot_per_gpu_hour),
        converted_from=conversion(view.converted_from),
        price_basis=view.price_basis.value if view.price_basis else None, price_includes=view.price_includes,
        cpu_arch=view.cpu_arch.value if view.cpu_arch else None,
        boot_seconds_min=view.boot_seconds_min, boot_seconds_max=view.boot_seconds_max,
    )


def conversion(fx: PriceConversion | None) -> s.Conversion | None:
    if fx is None:
        return None
    return s.Conversion(currency=fx.currency, price_per_hour=money_str(fx.price_per_hour),
                        usd_per_unit=money_str(fx.usd_per_unit), rate_date=fx.rate_date, rate_source=PUBLISHER,
                        label=fx.label)


def offer_page(page: Page, links: s.Links) -> s.OfferPage:
    return s.OfferPage(
        items=[offer(view, page) for view in page.items], page=page.page, per_page=page.per_page,
        total=page.total, pages=page.pages, best_price_per_gpu_hour=optional_money(page.best_price), links=links,
        best_price_basis=page.best_basis.value if page.best_basis else None,
        best_prices=[s.BasisBest(price_basis=basis.value, best_price_per_gpu_hour=money_str(price))
                     for basis, price in sorted(page.best_by_basis.items(), key=lambda item: item[1])],
    )


def catalog_gpu(
    gpu: CanonicalGpu, on_demand: Mapping[str, tuple[Decimal, int]], spot: Mapping[str, tuple[Decimal, int]]
) -> s.CatalogGpu:
    """``on_demand``/``spot``: cheapest $/GPU-hour and offer count per GPU slug (cheapest_per_gpu)."""
    od_price, od_count = on_demand.get(gpu.slug, (None, 0))
    spot_price, spot_count = spot.get(gpu.slug, (None, 0))
    sp = gpu.specs
    return s.CatalogGpu(
        slug=gpu.slug, name=gpu.name, family=gpu.family, family_name=family_name(gpu.family), model=gpu.model,
        vendor=gpu.vendor, memory_gb=gpu.memory_gb, form_factor=gpu.form_factor,
        specs=None if sp is None else s.GpuSpecs(
            architecture=sp.architecture, memory_type=sp.memory_type,
            bandwidth_gbps=sp.bandwidth_gbps, fp16_tflops=sp.fp16_tflops, tdp_watts=sp.tdp_watts),
        cheapest_on_demand_per_gpu_hour=optional_money(od_price), on_demand_offer_count=od_count,
        cheapest_spot_per_gpu_hour=optional_money(spot_price), spot_offer_count=spot_count,
        form_factor_stated=gpu.form_factor_stated,
    )


def gpu_detail(
    slug: str,
    gpus: tuple[CanonicalGpu, ...],
    on_demand: Mapping[str, tuple[Decimal, int]],
    spot: Mapping[str, tuple[Decimal, int]],
    providers: list[s.ProviderPrice],
) -> s.GpuDetail:
    """``slug`` names a family (``h100``) or one variant (``h100-sxm``); ``gpus`` are its variants."""
    is_family = slug in FAMILIES
    return s.GpuDetail(
        slug=slug, kind="family" if is_family else "variant",
        name=family_name(slug) if is_family else GPUS[slug].name, family=gpus[0].family,
        variants=[catalog_gpu(gpu, on_demand, spot) for gpu in gpus], providers=providers,
    )


def provider_prices(on_demand: Mapping[str, Decimal], spot: Mapping[str, Decimal]) -> list[s.ProviderPrice]:
    """Cheapest first (on-demand, then spot-only providers), ties by name."""
    def order(source: str) -> tuple:
        price = on_demand.get(source)
        return (price is None, price if price is not None else spot[source], source)

    return [
        s.ProviderPrice(provider=provider_ref(source),
                           cheapest_on_demand_per_gpu_hour=optional_money(on_demand.get(source)),
                           cheapest_spot_per_gpu_hour=optional_money(spot.get(source)))
        for source in sorted(on_demand.keys() | spot.keys(), key=order)
    ]


def daily_series(points: list[DailyPoint]) -> list[s.GpuSeries]:
    """Group ``daily_series`` rows (ordered by GPU, day) into one series per GPU."""
    series: dict[str, s.GpuSeries] = {}
    for p in points:
        out = series.setdefault(p.gpu_slug, s.GpuSeries(gpu=gpu_ref(GPUS[p.gpu_slug]), points=[]))
        out.points.append(s.DailyPoint(
            day=p.day, min_price_per_gpu_hour=money_str(p.min_price),
            median_price_per_gpu_hour=money_str(p.median_price), max_price_per_gpu_hour=money_str(p.max_price),
            offer_count=p.offer_count,
        ))
    return list(series.values())


def change_event(row: PriceHistory) -> s.ChangeEvent:
    return s.ChangeEvent(
        id=row.id, provider=provider_ref(row.source), offer_key=row.offer_key,
        gpu=gpu_ref(GPUS.get(row.gpu_slug) if row.gpu_slug else None), region=row.region,
        market=market(row.spot), event=row.event, price_per_hour=money_str(row.price_per_hour),
        price_per_gpu_hour=money_str(row.price_per_gpu_hour), available=row.available, observed_at=row.observed_at,
    )


def source(status: SourceStatus) -> s.Source:
    return s.Source(
        name=status.name, display_name=status.display_name, kind=status.kind, homepage=status.homepage,
        requires_key=status.requires_key, poll_interval_seconds=status.poll_interval_seconds,
        freshness=freshness(status.freshness), last_attempt_at=status.last_attempt_at,
        last_success_at=status.last_success_at, last_error=status.last_error, last_error_at=status.last_error_at,
        offer_count=status.offer_count, skipped_count=status.skipped_count,
        last_duration_ms=status.last_duration_ms, consecutive_failures=status.consecutive_failures,
    )


def unknown_gpu(source_name: str, raw_name: str, offers: int) -> s.UnknownGpu:
    return s.UnknownGpu(provider=provider_ref(source_name), raw_name=raw_name, offer_count=offers)
