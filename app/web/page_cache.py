"""The public pages through the response cache (app/cache/responses.py), for visitors only.

A page is cached only for a request without a session (no one signed in, nothing pending): then
nothing in its HTML belongs to the visitor. The per-visitor parts of a response live outside the
handler and are added to a cached body as to a fresh one: the CSRF cookie (app/auth/csrf.py, the
token appears in the HTML only for a signed-in user's log-out form), the request id and the
security headers (the CSP has no nonce: no page has inline script). A signed-in user's page is
rendered for them every time and never stored. A page with a form error (400) is rendered every
time and never stored either; so are 404s and redirects (they never reach the store).

The key is the path and the query string with its parameters in a stable order (by name, repeated
ones kept in their order: /compare's columns follow the ``gpu`` order).
"""

from __future__ import annotations

import asyncio
import hashlib
from functools import lru_cache
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.enums import MediaType
from litestar.response import Template
from litestar.types import Empty
from sqlalchemy.ext.asyncio import AsyncSession

from app.cache.encoding import encoded_response
from app.cache.responses import NotCacheable, ResponseCache

BuildPage = Callable[[AsyncSession], Awaitable[Template]]
TEMPLATES = Path(__file__).resolve().parent / "templates"
HTML = "text/html"  # Litestar adds the charset


def is_anonymous(request: Request) -> bool:
    session = request.scope.get("session")
    return session is Empty or not session


def page_key(request: Request) -> str:
    pairs = sorted(request.query_params.multi_items(), key=lambda pair: pair[0])  # stable: values keep their order
    return f"page:{request.url.path}?{urlencode(pairs)}"


def render_html(request: Request, page: Template) -> bytes:
    """The HTML of ``page`` for a visitor: what Litestar's Template response renders, with an empty
    CSRF field (a visitor's pages have no form that posts it; see the module docstring)."""
    template = request.app.template_engine.get_template(page.template_name)
    return template.render(**page.context, request=request, csrf_input="").encode()


def html_response(body: bytes, status: int = 200) -> Response:
    return Response(content=body, media_type=MediaType.HTML, status_code=status)


async def cached_page(request: Request, db: AsyncSession, build: BuildPage) -> Template | Response:
    """``build(session)`` returns the page's Template. Visitors get it from the cache; everyone
    else gets it built on the request's own session, exactly as without a cache."""
    cache: ResponseCache | None = request.app.state.response_cache
    if cache is None or not is_anonymous(request):
        return await build(db)
    sessions = request.app.state.sessions

    async def render() -> bytes:  # its own session: a background refresh outlives the request
        async with sessions() as session:
            page = await build(session)
        # In a thread: the dashboard's template takes tens of ms of CPU in one go, which on the event
        # loop would hold up every cache hit meanwhile (the p99 of /); a thread lets them interleave.
        body = await asyncio.to_thread(render_html, request, page)
        if page.status_code not in (None, 200):
            raise NotCacheable(html_response(body, page.status_code))
        return body

    key, version = page_key(request), await cache.data_version(sessions)
    try:
        stored_at, body = await cache.fetch_entry(key, version, render)
    except NotCacheable as uncached:
        return uncached.result  # type: ignore[return-value]
    return await encoded_response(request, cache, key, version, body, HTML, stored_at=stored_at)


@lru_cache(maxsize=8)
def release_fingerprint(*static_urls: str) -> str:
    """Templates and asset URLs of this release: bodies rendered by another release (a rolling
    deploy sharing one Redis) are never served by this one."""
    digest = hashlib.sha256()
    for path in sorted(TEMPLATES.rglob("*.html")):
        digest.update(path.relative_to(TEMPLATES).as_posix().encode() + b"\0" + path.read_bytes())
    for url in static_urls:
        digest.update(url.encode())
    return digest.hexdigest()[:16]
