"""What the pages show about a price source, tolerant of adapters that cannot be loaded.

Some registered adapters are still being written; a page must still render (with the bare
source name) rather than fail because one of them does not import yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.settings import Settings
from providers.registry import SOURCES, get_source_class


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
    except Exception:  # noqa: BLE001 - any broken or missing adapter degrades to its bare name
        kind = "scraper" if SOURCES.get(name, "").startswith("scrapers.") else "provider"
        return SourceInfo(name, name, kind, "", "", False, 900, loaded=False)
    return SourceInfo(
        name=name, display_name=cls.DISPLAY_NAME, kind=cls.KIND, homepage=cls.HOMEPAGE,
        pricing_url=cls.PRICING_URL, requires_key=cls.REQUIRES_KEY,
        poll_interval_seconds=cls.POLL_INTERVAL_SECONDS, loaded=True,
    )


def key_missing(name: str, settings: Settings) -> bool:
    """True when the source needs an operator key and none is set."""
    try:
        cls = get_source_class(name)
        return cls.REQUIRES_KEY and not all(cls.credentials_from_settings(settings).values())
    except Exception:  # noqa: BLE001 - see source_info
        return False
