"""Page counts and self/next/prev links that keep the caller's filters, in the caller's order."""

from __future__ import annotations

import re
from urllib.parse import quote_plus

from litestar import Request

from app.api.schemas import Links
from app.services.inputs import query_pairs


_UNQUOTED = re.compile(r"[A-Za-z0-9_.~-]*")
"""What ``quote_plus`` leaves as it is."""


def _quoted(text: str) -> str:
    """``quote_plus(text)``, as ``urlencode`` writes each name and value, skipped when it would not change it."""
    return text if _UNQUOTED.fullmatch(text) else quote_plus(text)


def page_count(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


def page_links(request: Request, page: int, pages: int) -> Links:
    return links_for(request.url.path, request.scope.get("query_string", b""), page, pages)


def links_for(path: str, query_string: bytes, page: int, pages: int) -> Links:
    # The raw query string, not request.query_params: that one groups repeated keys and loses the order.
    kept = "&".join(f"{_quoted(key)}={_quoted(value)}" for key, value in query_pairs(query_string) if key != "page")
    prefix = f"{path}?{kept}&page=" if kept else f"{path}?page="

    def to(number: int) -> str:  # urlencode([*kept, ("page", number)]), the kept part encoded once
        return f"{prefix}{number}"

    return Links(self_=to(page), next=to(page + 1) if page < pages else None, prev=to(page - 1) if page > 1 else None)
