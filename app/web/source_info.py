"""What the pages show about a price source: its names and links, from the adapter class.

Offers can outlive their source's registration (a source removed from the registry keeps its
rows until they age out): those degrade to the bare source name instead of failing the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from providers.base import PRICE_BASIS_LABELS, PriceBasis
from providers.registry import SOURCES, UnknownSource, get_source_class


@dataclass(frozen=True)
class SourceInfo:
    name: str
    display_name: str
    kind: str
    """provider (also runs instances) or scraper (prices only)."""
    homepage: str
    pricing_url: str
    requires_key: bool
    poll_interval_seconds: int
    loaded: bool
    price_basis: PriceBasis | None = None
    """What this source's prices pay for; None for a source no longer registered."""
    price_includes: str = ""

    @property
    def price_basis_label(self) -> str:
        return PRICE_BASIS_LABELS[self.price_basis] if self.price_basis else ""


def source_info(name: str) -> SourceInfo:
    try:
        cls = get_source_class(name)
    except UnknownSource:
        return SourceInfo(name, name, "provider", "", "", False, 900, loaded=False)
    return SourceInfo(
        name=name, display_name=cls.DISPLAY_NAME, kind=cls.KIND, homepage=cls.HOMEPAGE,
        pricing_url=cls.PRICING_URL, requires_key=cls.REQUIRES_KEY,
        poll_interval_seconds=cls.POLL_INTERVAL_SECONDS, loaded=True,
        price_basis=getattr(cls, "PRICE_BASIS", None), price_includes=getattr(cls, "PRICE_INCLUDES", ""),
    )


def _every(seconds: int) -> str:
    if seconds >= 86400 and seconds % 86400 == 0:
        return "daily" if seconds == 86400 else f"every {seconds // 86400} days"
    if seconds % 3600 == 0:
        return f"every {seconds // 3600} h"
    return f"every {max(1, seconds // 60)} min"


@cache
def polling_schedule() -> str:
    """The footer's promise, true to the registry: "every 15 min to daily" over the public sources."""
    intervals = sorted({source_info(name).poll_interval_seconds for name in SOURCES})
    if not intervals:
        return "on each source's schedule"
    if len(intervals) == 1:
        return _every(intervals[0])
    return f"{_every(intervals[0])} to {_every(intervals[-1]).removeprefix('every ')}"
