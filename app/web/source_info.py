"""What the pages show about a price source: its names and links, from the adapter class.

Offers can outlive their source's registration (a source removed from the registry keeps its
rows until they age out): those degrade to the bare source name instead of failing the page.
"""

from __future__ import annotations

from dataclasses import dataclass

from providers.registry import UnknownSource, get_source_class


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


def source_info(name: str) -> SourceInfo:
    try:
        cls = get_source_class(name)
    except UnknownSource:
        return SourceInfo(name, name, "provider", "", "", False, 900, loaded=False)
    return SourceInfo(
        name=name, display_name=cls.DISPLAY_NAME, kind=cls.KIND, homepage=cls.HOMEPAGE,
        pricing_url=cls.PRICING_URL, requires_key=cls.REQUIRES_KEY,
        poll_interval_seconds=cls.POLL_INTERVAL_SECONDS, loaded=True,
    )
