"""The provider contract: price sources, offers, and the instance lifecycle.

A *price source* only publishes offers (``scrapers/`` and every provider adapter).
A *provider* is a price source that can also run instances; optional abilities are
capability mixins, so what a provider can do is read from its class, never from flags.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

import httpx

from providers.errors import NotConfigured, NotFound
from providers.fx import PriceConversion
from providers.money import per_gpu_hour

if TYPE_CHECKING:
    from app.settings import Settings

log = logging.getLogger(__name__)


class PriceBasis(StrEnum):
    """What a published price pays for. Prices of different bases are not comparable: a GPU rate
    leaves out the machine around it, a smallest-VM price adds the least vCPU/RAM/disk/IP a VM
    needs, an instance price is one fixed shape (GPUs, vCPUs, RAM) as the provider sells it."""

    GPU_ONLY = "gpu_only"
    """The provider quotes a rate for the GPU(s) and states no machine shape in that figure (RunPod's
    GPU types, GCP's accelerator SKUs): what the machine also costs is not in it."""
    SMALLEST_VM = "smallest_vm"
    """Priced per component (GPU, vCPU, RAM, disk, IP): the figure is the cheapest deployable VM with
    this GPU (CUDO, TensorDock); a bigger shape costs more."""
    INSTANCE = "instance"
    """One fixed machine shape at one price: its GPUs with the vCPUs and RAM it comes with (AWS, Azure,
    Lambda ...). Storage and traffic may still be billed apart."""


PRICE_BASIS_LABELS: Mapping[PriceBasis, str] = {
    PriceBasis.GPU_ONLY: "GPU only",
    PriceBasis.SMALLEST_VM: "Smallest VM",
    PriceBasis.INSTANCE: "Instance",
}
PRICE_BASIS_HELP: Mapping[PriceBasis, str] = {
    PriceBasis.GPU_ONLY: "the provider's rate for the GPU; no machine shape is stated in this price, so "
                         "what the rest of the machine costs (or comes with) is not in it",
    PriceBasis.SMALLEST_VM: "the provider prices GPU, vCPU, RAM, disk and IP separately; this is the "
                            "cheapest VM it can deploy with this GPU (minimum vCPU, RAM, disk and IP)",
    PriceBasis.INSTANCE: "one fixed instance shape at one price: its GPUs with the vCPUs and RAM it "
                         "comes with; storage and traffic may be billed apart",
}


class CpuArch(StrEnum):
    """The host CPU's instruction set, where the source states it (or the GPU is a superchip)."""

    X86_64 = "x86_64"
    ARM64 = "arm64"


@dataclass(frozen=True, slots=True)
class Offer:
    """One priced machine shape at one provider, region and market (on-demand or spot).

    Units: ``price_per_hour`` is USD for the whole instance per hour; memory, RAM and disk
    are GB. ``gpu_count`` may be fractional for sliced GPUs. ``available`` is None when the
    provider does not say. A source that prices in another currency converts to USD with
    ``providers.fx`` and keeps the provider's own amount in ``converted_from``.
    """

    source: str
    instance_type: str
    gpu_raw_name: str
    gpu_count: Decimal
    price_per_hour: Decimal
    region: str
    spot: bool = False
    available: bool | None = None
    gpu_memory_gb: int | None = None
    vcpus: int | None = None
    ram_gb: int | None = None
    disk_gb: int | None = None
    buy_url: str = ""
    gpu_hint: str = ""
    """Extra text for GPU normalization (instance family, memory type), e.g. "HBM3"."""
    converted_from: PriceConversion | None = None
    """The provider's own price and currency when ``price_per_hour`` is a conversion to USD."""
    price_basis: PriceBasis | None = None
    """What the price pays for; None: the source's ``PRICE_BASIS`` (an aggregator may set it per offer)."""
    cpu_arch: CpuArch | None = None
    """The host CPU's architecture where the source says it; None: not stated (never guessed)."""
    boot_seconds_min: int | None = None
    boot_seconds_max: int | None = None
    """The boot time the source publishes for this shape (a range; equal ends for one figure); None: not published."""

    def __post_init__(self) -> None:
        if self.gpu_count <= 0:
            raise ValueError("an offer needs at least a fraction of a GPU")
        if self.price_per_hour <= 0:
            raise ValueError("an offer needs a positive price")
        if not self.region:
            raise ValueError("an offer needs a region")
        low, high = self.boot_seconds_min, self.boot_seconds_max
        if (low is None) != (high is None) or (low is not None and not 0 <= low <= high):
            raise ValueError(f"a boot time needs 0 <= min <= max seconds, not {low!r}..{high!r}")

    @property
    def offer_key(self) -> str:
        """Stable identity within a source: what history follows from poll to poll."""
        market = "spot" if self.spot else "ondemand"
        return f"{self.instance_type}|{self.region}|{market}"

    @property
    def price_per_gpu_hour(self) -> Decimal:
        return per_gpu_hour(self.price_per_hour, self.gpu_count)


@dataclass(frozen=True, slots=True)
class SkippedItem:
    """A provider item that could not be turned into an offer; logged and counted, never silent."""

    item: str
    reason: str


def keep_cheapest(kept: dict[str, Offer], offer: Offer) -> None:
    """Collect one offer per ``offer_key``, at its lowest price (a source that lists a shape twice)."""
    current = kept.get(offer.offer_key)
    if current is None or offer.price_per_hour < current.price_per_hour:
        kept[offer.offer_key] = offer


@dataclass(slots=True)
class FetchResult:
    offers: list[Offer] = field(default_factory=list)
    skipped: list[SkippedItem] = field(default_factory=list)

    def skip(self, source: str, item: str, reason: str) -> None:
        log.warning("%s: skipping %s: %s", source, item, reason)
        self.skipped.append(SkippedItem(item=item, reason=reason))


class PriceSource(ABC):
    """Anything that publishes GPU offers.

    Contract:
    - ``fetch_offers`` returns every offer it could parse; an item with a bad field is
      skipped with a reason (``FetchResult.skip``), the rest kept.
    - A failed fetch raises a ``ProviderError`` (typed, with ``retryable``); it never
      returns a partial or empty list in place of an error.
    - It never retries or sleeps; the poller owns the retry policy.
    """

    NAME: ClassVar[str]
    DISPLAY_NAME: ClassVar[str]
    HOMEPAGE: ClassVar[str]
    PRICING_URL: ClassVar[str]
    """Where a visitor buys: the provider's own pricing or console page."""
    REQUIRES_KEY: ClassVar[bool] = False
    CREDENTIAL_FIELDS: ClassVar[tuple[str, ...]] = ("api_key",)
    """What a user pastes to bind this provider (one secret for most; Verda has two)."""
    POLL_INTERVAL_SECONDS: ClassVar[int] = 900
    KIND: ClassVar[str] = "scraper"
    PRICE_BASIS: ClassVar[PriceBasis]
    """What this source's prices pay for, from its docs (no default: every source must say)."""
    PRICE_INCLUDES: ClassVar[str]
    """One sentence, from the provider's docs, on what its price covers and what is billed apart."""

    def __init__(self, http: httpx.AsyncClient, credentials: Mapping[str, str] | None = None) -> None:
        self.http = http
        self.credentials = dict(credentials or {})

    @classmethod
    def credentials_from_settings(cls, settings: Settings) -> dict[str, str]:
        """The operator key(s) this source needs; override when it needs one."""
        return {}

    @classmethod
    def from_settings(cls, settings: Settings, http: httpx.AsyncClient) -> PriceSource:
        credentials = cls.credentials_from_settings(settings)
        if cls.REQUIRES_KEY and not all(credentials.values()):
            raise NotConfigured(
                "no operator API key is set for this source", provider=cls.NAME
            )
        return cls(http, credentials)

    @classmethod
    def test_credentials(cls) -> dict[str, str]:
        """Fake credentials for recorded-response tests."""
        return {"api_key": "test-key-not-real"}

    @abstractmethod
    async def fetch_offers(self) -> FetchResult: ...


class InstanceStatus(StrEnum):
    PROVISIONING = "provisioning"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    TERMINATING = "terminating"
    TERMINATED = "terminated"
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Instance:
    provider: str
    instance_id: str
    name: str
    status: InstanceStatus
    raw_status: str
    instance_type: str = ""
    region: str = ""
    gpu_raw_name: str = ""
    gpu_count: Decimal = Decimal(0)
    price_per_hour: Decimal | None = None
    """The provider's reported hourly price, where its API gives one."""
    public_ip: str | None = None
    created_at: datetime | None = None
    client_token: str = ""
    """Our launch idempotency key, read back from wherever the adapter stored it (tag, label,
    name suffix): how the reconciler recognises an instance whose launch record never completed."""
    ssh_host: str | None = None
    """Where SSH answers when it is not ``public_ip`` port 22: a mapped port on the host (RunPod's
    direct TCP, Vast's port map) or a provider's SSH proxy. None: ``public_ip``."""
    ssh_port: int | None = None
    """The SSH port the provider reports (a mapped port, e.g. 40122); None: 22."""
    ssh_user: str | None = None
    """The login the provider reports for SSH; None: the adapter's ``SSH_USER``."""
    preempted: bool = False
    """The provider took this spot instance back to reclaim capacity (an interruption, not the
    user's doing); ``status`` says what became of it (terminated, or stopped where it is kept)."""


@dataclass(frozen=True, slots=True)
class LaunchRequest:
    name: str
    instance_type: str
    region: str
    image: str = ""
    disk_gb: int | None = None
    ssh_public_key: str = ""
    spot: bool = False
    client_token: str = ""
    """Our idempotency key: tagged onto the instance where the provider allows, for adoption."""


def map_status(provider: str, status_map: Mapping[str, InstanceStatus], raw: str | None) -> InstanceStatus:
    """libcloud-style: unknown raw values degrade to UNKNOWN and are logged, never dropped."""
    key = "" if raw is None else str(raw)
    status = status_map.get(key)
    if status is None:
        log.warning("%s: unknown instance status %r", provider, raw)
        return InstanceStatus.UNKNOWN
    return status


class Provider(PriceSource):
    """A price source that also runs instances. Core lifecycle: list, get, create, terminate."""

    KIND = "provider"
    STATUS_MAP: ClassVar[Mapping[str, InstanceStatus]] = {}
    UNSUPPORTED_REASONS: ClassVar[Mapping[str, str]] = {}
    """Why an operation is missing at this provider (overrides DEFAULT_UNSUPPORTED_REASONS)."""
    SSH_USER: ClassVar[str] = "root"
    """The login of the provider's default images, used when an instance reports none."""
    LISTS_LAUNCH_TOKENS: ClassVar[bool] = False
    """Whether ``list_instances`` reads back every instance's ``client_token`` (a tag, label or env
    the adapter launched it with). Only then does a launch missing from the list prove it never
    reached the provider; otherwise the reconciler keeps it as an honest "unknown, still checking"."""

    @abstractmethod
    async def list_instances(self) -> list[Instance]: ...

    @abstractmethod
    async def get_instance(self, instance_id: str) -> Instance:
        """Raise ``NotFound`` when the provider no longer knows the instance."""

    @abstractmethod
    async def create_instance(self, request: LaunchRequest) -> Instance:
        """Return as soon as the provider accepted the launch; never wait for it to boot."""

    @abstractmethod
    async def terminate_instance(self, instance_id: str) -> None:
        """Idempotent: an instance that is already gone is a success, not an error."""

    async def verify_credentials(self) -> None:
        """A cheap authenticated call; raises ``InvalidCredentials`` for a bad key."""
        await self.list_instances()


async def already_gone_is_success(call: Awaitable[object]) -> None:
    """Await a provider's delete call; "not found" means the instance is already gone, which is
    what terminating wanted (terminate is idempotent)."""
    try:
        await call
    except NotFound:
        return


class SupportsStart(ABC):
    @abstractmethod
    async def start_instance(self, instance_id: str) -> None: ...


class SupportsStop(ABC):
    @abstractmethod
    async def stop_instance(self, instance_id: str) -> None: ...


class SupportsReboot(ABC):
    @abstractmethod
    async def reboot_instance(self, instance_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class HealthAnswer:
    ok: bool
    detail: str


class SupportsHealthCheck(ABC):
    """The provider itself answers an instance's health check: a simulated cloud, whose instances
    have no real endpoint. Auto-repair asks it instead of opening a connection to the endpoint."""

    @abstractmethod
    async def check_health(self, instance_id: str, endpoint_url: str) -> HealthAnswer:
        """What the instance's endpoint ``endpoint_url`` (already vetted) would answer now."""


# Why an operation is missing, shown greyed-out in the console. Providers override entries.
DEFAULT_UNSUPPORTED_REASONS: Mapping[str, str] = {
    "start": "this provider's API cannot start a stopped instance",
    "stop": "this provider's API cannot stop an instance; delete it instead",
    "reboot": "this provider's API has no reboot",
}
_CAPABILITIES: Mapping[str, type] = {"start": SupportsStart, "stop": SupportsStop, "reboot": SupportsReboot}


def unsupported_reason(provider_cls: type[Provider], operation: str) -> str | None:
    """None when the provider can do ``operation``; else the reason the console shows."""
    if issubclass(provider_cls, _CAPABILITIES[operation]):
        return None
    return provider_cls.UNSUPPORTED_REASONS.get(operation) or DEFAULT_UNSUPPORTED_REASONS[operation]
