"""Cache hits answered in front of Litestar, for visitors without a session.

A cache hit inside Litestar still pays for routing, the middleware stack (metrics, CSRF, session,
input guard), the handler's parameter parsing and the response's headers: about 2 ms, most of
what a hit costs and enough to put the p99 of ``/`` under 50 connections at hundreds of ms.

This layer remembers the last response Litestar built from a cached body (marked with
``app.cache.encoding.REPLAYABLE``) per (path, query string, negotiated encoding), headers and
bytes as sent, and answers the same request with them while the body is what Litestar would send
too: the same data version (``ResponseCache.current_version``, no I/O) and no older than the
cache's ``max_age`` (after that Litestar answers, which starts the background refresh). Only
GETs without a session cookie: a signed-in user's page is never cached.

Per-visitor headers are added as on the normal path: the CSRF cookie here (by the same
middleware's rule), the request id and the security headers by the layers outside this one.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from litestar._parsers import parse_cookie_string  # the parser Litestar's request.cookies uses
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.csrf import CSRF_COOKIE, SessionBoundCSRFMiddleware
from app.cache.encoding import REPLAYABLE, negotiated
from app.cache.responses import ResponseCache

PASS_ON_EVERY = 1.0
"""Seconds between the requests for a too-old body that Litestar answers (see ``_servable``)."""
MAX_KEPT = 256
"""Responses kept per process (most-recently used): the public pages and the hottest API queries."""


@dataclass(frozen=True, slots=True)
class KeptResponse:
    version: str
    stored_at: float
    status: int
    headers: list[tuple[bytes, bytes]]
    """As Litestar sent them, without the CSRF cookie (it is the visitor's own)."""
    body: bytes


def request_headers(scope: Scope) -> tuple[str, str, bool]:
    """(Accept-Encoding, Cookie, whether a header makes the request unlike a plain visit)."""
    accept, cookie, special = "", "", False
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            accept = value.decode("latin-1")
        elif name == b"cookie":
            special = special or bool(cookie)  # several Cookie headers: left to Litestar
            cookie = value.decode("latin-1")
        elif name in (b"authorization", b"range", b"if-none-match", b"if-modified-since", b"hx-request"):
            special = True
    return accept, cookie, special


def visitor_cookies(header: str) -> dict[str, str]:
    """Read as Litestar reads them (its session middleware decides who is signed in)."""
    return parse_cookie_string(header) if header else {}


class CacheHitLayer:
    def __init__(self, app: ASGIApp, *, cache: ResponseCache, csrf: SessionBoundCSRFMiddleware,
                 session_cookie: str, max_kept: int = MAX_KEPT) -> None:
        self.app = app
        self.cache = cache
        self.csrf = csrf
        self.session_cookie = session_cookie
        self.max_kept = max_kept
        self._kept: OrderedDict[tuple[str, bytes, str | None], KeptResponse] = OrderedDict()
        self.replayed = 0
        self._passed_on: dict[tuple[str, bytes, str | None], float] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        accept, cookie_header, special = request_headers(scope)
        cookies = visitor_cookies(cookie_header)
        if special or self.session_cookie in cookies:
            await self.app(scope, receive, send)
            return
        key = (scope["path"], scope.get("query_string", b""), negotiated(accept))
        kept = self._kept.get(key)
        if kept is not None and self._servable(key, kept):
            self._kept.move_to_end(key)
            self.replayed += 1
            await self._replay(scope, kept, cookies.get(CSRF_COOKIE), send)
            return
        await self.app(scope, receive, self._keeping(scope, key, send))

    def _servable(self, key, kept: KeptResponse) -> bool:
        """What Litestar would send now, as far as this process can tell without I/O."""
        version = self.cache.current_version()
        if version is None:  # the version is due to be read again: only while another request reads
            # it does Litestar go on with the last one (ResponseCache.data_version), and so do we
            return self.cache.version_being_read() == kept.version
        if kept.version != version:
            return False
        if time.time() - kept.stored_at <= self.cache.max_age:
            return True
        # Too old: Litestar serves it once more while one background render replaces it. One
        # request a second goes on to Litestar (the first starts that render; a later one brings
        # back the new body); the others get the old body, as Litestar would give them meanwhile.
        now = time.monotonic()
        if now - self._passed_on.get(key, float("-inf")) < PASS_ON_EVERY:
            return True
        self._passed_on[key] = now
        return False

    async def _replay(self, scope: Scope, kept: KeptResponse, cookie_token: str | None, send: Send) -> None:
        headers = list(kept.headers)
        cookie = self._csrf_cookie(scope, cookie_token)
        if cookie is not None:
            headers.append((b"set-cookie", cookie.encode("latin-1")))
        await send({"type": "http.response.start", "status": kept.status, "headers": headers})
        await send({"type": "http.response.body", "body": kept.body, "more_body": False})

    def _csrf_cookie(self, scope: Scope, cookie_token: str | None) -> str | None:
        """What the CSRF middleware adds to a visitor's response (it skips its excluded paths)."""
        if scope["path"].startswith(self.csrf.exclude_prefixes):
            return None
        return self.csrf.visitor_cookie(cookie_token)

    def _keeping(self, scope: Scope, key: tuple[str, bytes, str | None], send: Send) -> Send:
        start: dict = {}
        chunks: list[bytes] = []

        async def send_and_keep(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                marked = scope.get(REPLAYABLE)  # type: ignore[call-overload]
                if not message.get("more_body", False) and marked is not None and start.get("status") == 200:
                    self._keep(key, marked, start, b"".join(chunks))

        return send_and_keep

    def _keep(self, key, marked: tuple[str, float], start: Message, body: bytes) -> None:
        headers = []
        for name, value in start.get("headers", []):
            if name.lower() == b"set-cookie":
                if not value.decode("latin-1").startswith(f"{CSRF_COOKIE}="):
                    return  # a response that sets another cookie is this visitor's own
                continue
            headers.append((name, value))
        version, stored_at = marked
        self._kept[key] = KeptResponse(version, stored_at, start["status"], headers, body)
        self._kept.move_to_end(key)
        while len(self._kept) > self.max_kept:
            dropped, _ = self._kept.popitem(last=False)
            self._passed_on.pop(dropped, None)
