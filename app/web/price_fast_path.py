"""``GET /api/v1/prices`` answered in front of Litestar, for the plain requests API clients send.

Each distinct filter is asked for about once (a cache miss), and through Litestar a miss paid ~2 ms
for routing, the middleware stack and parameter parsing before the answer's own work. This layer
reads the same parameters (``app.api.price_params.plain_params``: only their plain form), asks the
same ``prices_answer`` as the route (one cache key, one body, one encoding choice) and sends what
Litestar would send for it: the same status, headers and bytes, counted in the same Prometheus
metrics, marked replayable for the cache-hit layer outside it; the request id and the security
headers come from the layers outside both. Anything else goes on to Litestar unchanged: another
path or method, a session cookie, conditional or ranged requests, a parameter in any other form,
an invalid filter (its 400 stays Litestar's), a failure while answering.
"""

from __future__ import annotations

import logging
import time

from litestar.datastructures import State
from litestar.plugins.prometheus import PrometheusConfig, PrometheusMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from app.api.price_params import plain_params, price_query
from app.api.prices import PATH, PricesAnswer, prices_answer
from app.cache.encoding import REPLAYABLE
from app.services.inputs import BadInput
from app.services.prices import InvalidQuery, PriceQuery
from app.web.cache_hits import request_headers, visitor_cookies
from app.web.input_guard import check_query

log = logging.getLogger(__name__)
JSON = b"application/json"


def response_headers(answer: PricesAnswer) -> list[tuple[bytes, bytes]]:
    """In the order Litestar's Response writes them (tests/web/test_price_fast_path.py compares)."""
    length = (b"content-length", str(len(answer.content)).encode())
    if answer.encoding is None:
        return [(b"content-type", JSON), length]
    return [(b"content-encoding", answer.encoding.encode()), (b"vary", b"Accept-Encoding"),
            (b"content-type", JSON), length]


class PrometheusCount:
    """What Litestar's Prometheus middleware records for a request of this route (its own metric
    objects, shared by class), so /metrics counts the requests answered here too."""

    def __init__(self, config: PrometheusConfig) -> None:
        self.metrics = PrometheusMiddleware(app=None, config=config)  # type: ignore[arg-type]
        self.labels = {"method": "GET", "path": PATH, "status_code": 200, "app_name": config.app_name,
                       **{name: str(value) for name, value in (config.labels or {}).items() if not callable(value)}}
        self.whole = not any(callable(value) for value in (config.labels or {}).values())
        """False with a label computed from the request: such requests go on to Litestar."""
        self._children: dict[int, tuple] = {}

    def _of(self, status: int) -> tuple:
        """The (in progress, count, duration) series of a status, looked up once."""
        children = self._children.get(status)
        if children is None:
            labels = {**self.labels, "status_code": status}
            children = self._children[status] = (
                self.metrics.requests_in_progress(self.labels).labels(*self.labels.values()),
                self.metrics.request_count(labels).labels(*labels.values()),
                self.metrics.request_time(labels).labels(*labels.values()))
        return children

    def started(self) -> None:
        self._of(200)[0].inc()

    def passed_on(self) -> None:
        """Litestar's middleware counts the request after all."""
        self._of(200)[0].dec()

    def finished(self, status: int, seconds: float) -> None:
        self._of(200)[0].dec()
        _, count, duration = self._of(status)
        count.inc()
        duration.observe(seconds)


class PriceFastPath:
    def __init__(self, app: ASGIApp, *, state: State, session_cookie: str,
                 prometheus: PrometheusConfig | None = None) -> None:
        self.app = app
        self.state = state
        self.session_cookie = session_cookie
        self.metrics = None if prometheus is None else PrometheusCount(prometheus)
        self.answered = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        asked = self._asked(scope) if scope["type"] == "http" else None
        if asked is None:
            await self.app(scope, receive, send)
            return
        query, query_string, accept_encoding = asked
        started = time.perf_counter()
        if self.metrics is not None:
            self.metrics.started()
        try:
            answer = await prices_answer(self.state, query, PATH, query_string, accept_encoding)
        except Exception:  # Litestar answers it (its error page, its logging), as without this layer
            if self.metrics is not None:
                self.metrics.passed_on()
            log.debug("prices fast path: passed on after a failure", exc_info=True)
            await self.app(scope, receive, send)
            return
        scope[REPLAYABLE] = answer.replayable  # type: ignore[literal-required]
        self.answered += 1
        try:
            await send({"type": "http.response.start", "status": 200, "headers": response_headers(answer)})
            await send({"type": "http.response.body", "body": answer.content, "more_body": False})
        finally:
            if self.metrics is not None:
                self.metrics.finished(200, time.perf_counter() - started)

    def _asked(self, scope: Scope) -> tuple[PriceQuery, bytes, str] | None:
        """(the request's query, its query string, its Accept-Encoding) when this layer answers it
        the way Litestar would; None otherwise."""
        if scope["method"] != "GET" or scope["path"] != PATH or scope.get("root_path"):
            return None
        if self.metrics is not None and not self.metrics.whole:
            return None
        accept, cookie, special = request_headers(scope)
        if special or sum(name == b"accept-encoding" for name, _ in scope["headers"]) > 1:
            return None
        if cookie and self.session_cookie in visitor_cookies(cookie):
            return None
        raw = scope.get("query_string", b"")
        if not raw.isascii():
            return None
        try:
            check_query(raw)  # the input guard's refusals stay Litestar's
        except BadInput:
            return None
        params = plain_params(raw)
        if params is None:
            return None
        try:
            return price_query(**params, include_simulated=self.state.settings.sandbox.on_price_pages), raw, accept
        except InvalidQuery:
            return None
