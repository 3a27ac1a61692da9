"""What every page shares: title/description/canonical metadata and the render call."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Request
from litestar.response import Template

from app.web.formatting import HELPERS


@dataclass(frozen=True)
class PageMeta:
    title: str
    description: str
    path: str
    """Canonical path: filtered views point search engines at the unfiltered page."""
    noindex: bool = False


def base_url(request: Request) -> str:
    return request.app.state.settings.web.base_url.rstrip("/")


def render(request: Request, template: str, meta: PageMeta, status: int = 200, **context: object) -> Template:
    return Template(
        template,
        context={**HELPERS, "meta": meta, "canonical_url": base_url(request) + meta.path, **context},
        status_code=status,
    )
