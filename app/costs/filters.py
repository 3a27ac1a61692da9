"""What the cost pages are asked for: a range of local days, a provider, a GPU, a project, a member and a page,
validated once (bad input raises InvalidQuery, which the app answers with 400 and the message)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from urllib.parse import urlencode

from app.services.inputs import is_row_id, parse_day, parse_page
from app.services.prices import InvalidQuery
from providers.gpus import GPUS
from providers.registry import SIMULATED, SOURCES

DEFAULT_DAYS = 30
MAX_DAYS = 366
"""A year (leap years included) per view or export: the daily breakdown stays a few thousand rows."""
PAGE_SIZE = 50


@dataclass(frozen=True)
class CostFilters:
    first: date
    last: date
    """Local days in the user's time zone, both included."""
    provider: str | None = None
    gpu: str | None = None
    page: int = 1
    chosen_range: bool = False
    """False when the range is the default (the last 30 days)."""
    project: int | None = None
    """One of the organization's projects (checked against the scope by the report)."""
    member: int | None = None
    """A user id: only the costs of what they launched (checked against the workspace by the report)."""

    def each_day(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def query(self, **changes: object) -> str:
        """The query string of these filters (page 1 unless given), for links and the export."""
        chosen = replace(self, **changes) if changes else self
        params = {"from": chosen.first.isoformat(), "to": chosen.last.isoformat()} if chosen.chosen_range else {}
        params |= {k: v for k, v in (("provider", chosen.provider), ("gpu", chosen.gpu)) if v}
        if chosen.project:
            params["project"] = str(chosen.project)
        if chosen.member:
            params["member"] = str(chosen.member)
        if chosen.page > 1:
            params["page"] = str(chosen.page)
        return urlencode(params)


MAX_PAGE = 100_000


def parse_filters(today: date, date_from: str | None = None, date_to: str | None = None,
                  provider: str | None = None, gpu: str | None = None, page: int | str = 1,
                  project: str | None = None, member: str | None = None) -> CostFilters:
    """``today`` is the user's local date: the default range ends there. ``page`` may be as typed."""
    page = parse_page(page, MAX_PAGE, named=True)  # (page - 1) * size must stay a database integer
    date_from, date_to = (date_from or "").strip(), (date_to or "").strip()
    last = parse_day(date_to, "to", named=True) or today
    first = parse_day(date_from, "from", named=True) or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InvalidQuery("from: the start date is after the end date", "from")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidQuery(f"from: a range can span at most {MAX_DAYS} days", "from")
    provider, gpu = (provider or "").strip() or None, (gpu or "").strip() or None
    if provider is not None and provider not in SOURCES and provider not in SIMULATED:
        raise InvalidQuery(f"provider: unknown provider {provider[:40]!r}", "provider")
    if gpu is not None and gpu not in GPUS:
        raise InvalidQuery(f"gpu: unknown GPU {gpu[:40]!r}", "gpu")
    project, member = _row_id(project, "project"), _row_id(member, "member")
    return CostFilters(first, last, provider, gpu, page, chosen_range=bool(date_from or date_to),
                       project=project, member=member)


def _row_id(raw: str | None, field: str) -> int | None:
    """A select's id as sent: empty is none, anything but a row id a 400 naming the field."""
    value = (raw or "").strip()
    if not value:
        return None
    if not (len(value) <= 10 and value.isascii() and value.isdigit() and is_row_id(int(value))):
        raise InvalidQuery(f"{field}: choose a {field} from the list", field)
    return int(value)
