"""Times are stored in UTC and shown in the reader's own time zone.

``{{ instance.created_at | localtime(user) }}`` in any template (registered as a Jinja filter in
``app/server.py``); ``localtime(user, "%Y-%m-%d")`` for another format.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from litestar.contrib.jinja import JinjaTemplateEngine

DEFAULT_FORMAT = "%Y-%m-%d %H:%M %Z"
UTC = ZoneInfo("UTC")


@cache
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def user_zone(user: object | None) -> ZoneInfo:
    """The user's time zone; UTC for visitors (and for a name the system does not know)."""
    name = getattr(user, "timezone", None)
    return _zone(name) if name else UTC


def localtime(value: datetime | None, user: object | None = None, fmt: str = DEFAULT_FORMAT) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:  # the database layer hands out aware UTC; be safe with anything else
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(user_zone(user)).strftime(fmt)


def register_filters(engine: JinjaTemplateEngine) -> None:
    from app.web.assets import static_url

    engine.engine.filters["localtime"] = localtime
    engine.engine.globals["static_url"] = static_url
