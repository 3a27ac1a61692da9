"""The JSON shapes of /api/v1 (msgspec structs, so the OpenAPI schema is generated from them).

Money is always a string with 6 decimals ("2.990000"): exact, never a float.
Times are ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct, field

Market = Literal["on-demand", "spot"]
PriceBasisName = Literal["gpu_only", "smallest_vm", "instance"]
CpuArchName = Literal["x86_64", "arm64"]
Money = Annotated[
    str, Meta(pattern=r"^\d+\.\d{6}$", description="USD, exact decimal as a string", examples=["2.990000"])
]


UnitPrice = Annotated[
    str, Meta(pattern=r"^\d+\.\d{8}$", description="USD per unit, exact decimal as a string", examples=["0.00302326"])
]


class ProviderRef(Struct):
    name: str
    """Registry name, usable as the ``provider`` filter."""
    display_name: str


class GpuRef(Struct):
    slug: str
    name: str
    family: str
    memory_gb: int
    form_factor: str | None
    form_factor_stated: bool = True
    """False when the family comes in several form factors and the provider does not say which
    (``h100-80gb``): listed under the family, without specs."""


class Freshness(Struct):
    state: str
    """live | stale | snapshot | not_configured | no_data"""
    label: str
    as_of: datetime | None


class Conversion(Struct):
    """How a USD price was obtained from a provider that prices in another currency."""

    currency: str
    """The provider's currency (ISO 4217), e.g. "EUR"."""
    price_per_hour: Annotated[str, Meta(pattern=r"^\d+\.\d{6}$", description="in `currency`, exact decimal")]
    usd_per_unit: Annotated[str, Meta(pattern=r"^\d+\.\d{6}$", description="USD for one unit of `currency`")]
    rate_date: date
    """The ECB euro reference rate's date."""
    rate_source: Literal["ECB"]
    label: str
    """E.g. 'converted from EUR at the ECB rate of 2026-12-02'."""


class Offer(Struct):
    id: int
    provider: ProviderRef
    instance_type: str
    gpu: GpuRef | None
    """Null when the provider's GPU name is not in the catalog (see /api/v1/unknown-gpus)."""
    gpu_raw_name: str
    gpu_count: int | float
    gpu_memory_gb: int | None
    vcpus: int | None
    ram_gb: int | None
    disk_gb: int | None
    region: str
    market: Market
    price_per_hour: Money
    price_per_gpu_hour: Money
    currency: str
    available: bool | None
    buy_url: str
    observed_at: datetime
    age: str
    """How old the price is: '12 min ago', or 'snapshot of 2026-11-01' for bundled prices."""
    origin: Literal["live", "snapshot"]
    freshness: Freshness
    best_value: bool
    """True when this offer has the lowest $/GPU-hour among the matching offers of its own price_basis
    (a GPU-only rate is never ranked against whole-VM prices); never on an offer reported unavailable."""
    price_basis: PriceBasisName | None = None
    """What the price pays for: gpu_only (the provider's GPU rate; no machine shape is stated in it),
    smallest_vm (priced per component: the cheapest deployable VM with this GPU, i.e. minimum vCPU,
    RAM, disk and IP), instance (one fixed shape: GPUs with the vCPUs and RAM it comes with).
    Null only for a source that is no longer registered."""
    price_includes: str = ""
    """The source's own sentence on what its price covers and what it bills apart."""
    cpu_arch: CpuArchName | None = None
    """Host CPU architecture where the source states it (or the GPU is a Grace superchip); null: not stated."""
    boot_seconds_min: int | None = None
    boot_seconds_max: int | None = None
    """Boot time the source publishes for this shape, seconds (a range); null: not published."""
    price_per_tflop_hour: UnitPrice | None = None
    """$/GPU-hour per dense FP16/BF16 tensor TFLOPS of the GPU (catalog specs); null without specs."""
    total_gpu_memory_gb: int | float | None = None
    """GPU memory of the whole instance: gpu_memory_gb (one whole card) × gpu_count; a 1/8 slice of a
    16 GB card has 2."""
    interconnect: str | None = None
    """How the instance's GPUs are linked (NVLink, Infinity Fabric or PCIe) when the provider's names or the
    form factor say so; null when not stated, and for a single GPU."""
    on_demand_price_per_gpu_hour: Money | None = None
    """This shape (provider, instance type, region) on demand: this offer's price, or its on-demand twin's."""
    spot_price_per_gpu_hour: Money | None = None
    """This shape on the spot market: this offer's price, or its spot twin's; null when not sold as spot."""
    converted_from: Conversion | None = None
    """Null for prices the provider publishes in USD."""


class BasisBest(Struct):
    price_basis: PriceBasisName
    best_price_per_gpu_hour: Money


class Links(Struct):
    self_: str = field(name="self")
    next: str | None
    prev: str | None


class OfferPage(Struct):
    items: list[Offer]
    page: int
    per_page: int
    total: int
    pages: int
    best_price_per_gpu_hour: Money | None
    """The lowest bookable $/GPU-hour of any price basis; best_price_basis says what it pays for."""
    links: Links
    best_price_basis: PriceBasisName | None = None
    best_prices: list[BasisBest] = field(default_factory=list)
    """The lowest bookable $/GPU-hour of each price basis among the matching offers: compare like with like."""


class GpuSpecs(Struct):
    architecture: str
    memory_type: str
    bandwidth_gbps: int
    """Memory bandwidth in GB/s."""
    fp16_tflops: int
    """Dense FP16/BF16 tensor TFLOPS."""
    tdp_watts: int


class CatalogGpu(Struct):
    slug: str
    name: str
    family: str
    family_name: str
    model: str
    vendor: str
    memory_gb: int
    form_factor: str | None
    specs: GpuSpecs | None
    """Null for an unstated entry (form factor not stated by the provider: the figures differ)."""
    cheapest_on_demand_per_gpu_hour: Money | None
    on_demand_offer_count: int
    cheapest_spot_per_gpu_hour: Money | None
    spot_offer_count: int
    form_factor_stated: bool = True


class GpuCatalog(Struct):
    items: list[CatalogGpu]


class ProviderPrice(Struct):
    provider: ProviderRef
    cheapest_on_demand_per_gpu_hour: Money | None
    cheapest_spot_per_gpu_hour: Money | None


class GpuDetail(Struct):
    slug: str
    kind: Literal["family", "variant"]
    name: str
    family: str
    variants: list[CatalogGpu]
    providers: list[ProviderPrice]
    """Cheapest current $/GPU-hour per provider across the variants, cheapest first."""


class DailyPoint(Struct):
    day: date
    min_price_per_gpu_hour: Money
    median_price_per_gpu_hour: Money
    max_price_per_gpu_hour: Money
    offer_count: int


class GpuSeries(Struct):
    gpu: GpuRef
    points: list[DailyPoint]


class GpuHistory(Struct):
    gpu: str
    market: Market
    days: int
    since: date
    series: list[GpuSeries]
    """One series per variant that has data, oldest day first."""


class ChangeEvent(Struct):
    id: int
    provider: ProviderRef
    offer_key: str
    gpu: GpuRef | None
    region: str
    market: Market
    event: Literal["appeared", "changed", "disappeared"]
    price_per_hour: Money
    price_per_gpu_hour: Money
    available: bool | None
    observed_at: datetime


class ChangePage(Struct):
    items: list[ChangeEvent]
    page: int
    per_page: int
    total: int
    pages: int
    links: Links


class Source(Struct):
    name: str
    display_name: str
    kind: str
    homepage: str
    requires_key: bool
    poll_interval_seconds: int
    freshness: Freshness
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    offer_count: int
    skipped_count: int
    last_duration_ms: int | None
    consecutive_failures: int


class SourceList(Struct):
    items: list[Source]


class UnknownGpu(Struct):
    provider: ProviderRef
    raw_name: str
    offer_count: int


class UnknownGpuList(Struct):
    items: list[UnknownGpu]
