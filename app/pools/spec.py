"""What a pool asks for, checked before anything is stored (a bad field is a 400 naming it)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from app.console.errors import ConsoleError
from app.console.launch_form import can_launch
from app.db.models.pools import SPOT_POLICIES
from app.repair.endpoint import EndpointRefused, parse_endpoint
from providers.gpus import GPUS

MAX_NODES = 100
MAX_GPUS_PER_NODE = 16
MAX_PRICE = Decimal(1000)
MAX_LIST = 32
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
"""Short enough that a node's name (``<pool>-<6 hex>``) stays a valid instance name."""


class PoolError(ConsoleError):
    """A pool the form or the API cannot take: 400 with this message."""


def gpu_slugs(gpu: str) -> set[str]:
    """The catalog slugs a pool's GPU covers: a variant itself, or every entry of a family."""
    return {slug for slug, canonical in GPUS.items() if slug == gpu or canonical.family == gpu}


@dataclass(frozen=True)
class PoolSpec:
    name: str
    gpu: str
    gpus_per_node: int
    target_nodes: int
    max_nodes: int
    max_price_per_gpu_hour: Decimal
    min_nodes: int = 0
    spot_policy: str = "on_demand"
    allowed_providers: tuple[str, ...] = ()
    allowed_regions: tuple[str, ...] = ()
    project_id: int | None = None
    template_id: int | None = None
    image: str = ""
    disk_gb: int | None = None
    startup_script: str = ""
    health_check_url: str | None = None

    def validate(self) -> PoolSpec:
        if not _NAME.match(self.name or ""):
            raise PoolError("name: 1-40 lower-case letters, digits or dashes, starting with a letter or digit")
        if not gpu_slugs(self.gpu):
            raise PoolError(f"gpu: {self.gpu!r} is not a GPU family or variant of the catalog (see /gpus)")
        if not 1 <= self.gpus_per_node <= MAX_GPUS_PER_NODE:
            raise PoolError(f"gpus_per_node: between 1 and {MAX_GPUS_PER_NODE}")
        check_sizes(self.min_nodes, self.target_nodes, self.max_nodes)
        if not (Decimal(0) < self.max_price_per_gpu_hour <= MAX_PRICE) or \
                self.max_price_per_gpu_hour.as_tuple().exponent < -6:
            raise PoolError(f"max_price_per_gpu_hour: more than 0 and at most {MAX_PRICE} $, 6 decimals at most")
        if self.spot_policy not in SPOT_POLICIES:
            raise PoolError(f"spot_policy: one of {', '.join(SPOT_POLICIES)}")
        if len(self.allowed_providers) > MAX_LIST or len(self.allowed_regions) > MAX_LIST:
            raise PoolError(f"allowed_providers and allowed_regions: at most {MAX_LIST} each")
        for provider in self.allowed_providers:
            if not can_launch(provider):
                raise PoolError(f"allowed_providers: ComputeHub cannot launch on {provider!r}")
        if any(not region or len(region) > 128 for region in self.allowed_regions):
            raise PoolError("allowed_regions: each region 1-128 characters")
        if len(self.image) > 255:
            raise PoolError("image: at most 255 characters")
        if self.disk_gb is not None and not 10 <= self.disk_gb <= 65536:
            raise PoolError("disk_gb: between 10 and 65536")
        if len(self.startup_script) > 16_384:
            raise PoolError("startup_script: at most 16384 characters")
        if self.health_check_url:
            try:
                parse_endpoint(self.health_check_url)
            except EndpointRefused as exc:
                raise PoolError(f"health_check_url: {exc}") from None
        return self


def check_sizes(min_nodes: int, target_nodes: int, max_nodes: int) -> None:
    if not 0 <= min_nodes <= target_nodes <= max_nodes <= MAX_NODES:
        raise PoolError(f"nodes: 0 <= min_nodes <= target_nodes <= max_nodes <= {MAX_NODES} "
                        f"(got {min_nodes}, {target_nodes}, {max_nodes})")


def parse_price(raw: object) -> Decimal:
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise PoolError("max_price_per_gpu_hour: a number of dollars, e.g. 2.50") from None
    if not value.is_finite():
        raise PoolError("max_price_per_gpu_hour: a number of dollars, e.g. 2.50")
    return value


def names(raw: str) -> list[str]:
    """A stored JSON list of providers or regions."""
    return list(json.loads(raw or "[]"))
