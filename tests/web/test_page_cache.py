"""The public pages' response cache (app/web/page_cache.py, app/cache/): visitors are served a page
rendered once per (path + query, price data version); signed-in users never share one.

Whether a request was served from the cache is observed from the outside: the SQL statements the
app runs against the offers table while answering it.
"""

from __future__ import annotations

import secrets
from contextlib import contextmanager
from dataclasses import replace

import pytest
from litestar import Litestar
from sqlalchemy import event

from app.db.engine import make_engine
from app.server import create_app
from app.settings import CacheSettings, WebSettings
from tests.conftest import REDIS_URL, require_redis
from tests.auth.support import Browser, fast_password_hashing, make_user, settings  # noqa: F401 - fixtures
from tests.support.factories import NOW, make_offer, seed

PUBLIC_PAGES = ["/", "/gpus", "/gpus/h100", "/gpus/h100-sxm", "/compare", "/sources"]
MARKET = [make_offer("lambdalabs", "H100 SXM", "2.99"), make_offer("runpod", "A100 SXM", "1.29")]


class OfferQueries:
    """Counts the statements an engine runs that read the offers table."""

    def __init__(self, engine) -> None:
        self.count = 0
        self._engine = engine.sync_engine

    def _seen(self, conn, cursor, statement, *args) -> None:
        if "offers" in statement:
            self.count += 1

    @contextmanager
    def counting(self):
        self.count = 0
        event.listen(self._engine, "before_cursor_execute", self._seen)
        try:
            yield self
        finally:
            event.remove(self._engine, "before_cursor_execute", self._seen)


def app_with(settings, engine, **cache) -> Litestar:
    return create_app(replace(settings, cache=CacheSettings(**cache)), engine=engine, run_worker=False)


@pytest.fixture
async def visitor(settings, engine, sessions):
    application = app_with(settings, engine, backend="memory")
    browser = Browser(application)
    browser.app = application
    yield browser
    await browser.close()
    await application.state.response_cache.close()


async def page(browser: Browser, url: str, status: int = 200) -> str:
    response = await browser.get(url)
    assert response.status_code == status, (url, response.status_code, response.text[:300])
    return response.text


@pytest.mark.parametrize("url", PUBLIC_PAGES)
async def test_a_visitor_is_served_a_page_rendered_once(visitor, engine, sessions, url):
    await seed(sessions, MARKET, at=NOW)
    queries = OfferQueries(engine)
    with queries.counting():
        first = await page(visitor, url)
    assert queries.count > 0
    with queries.counting():
        again = await page(Browser(visitor.app), url)  # another visitor, same page
    assert queries.count == 0 and again == first


async def test_an_ingest_that_changes_a_price_shows_on_the_next_request(visitor, sessions):
    await seed(sessions, [make_offer("lambdalabs", "H100 SXM", "2.99")], at=NOW)
    assert "$2.99" in await page(visitor, "/")
    # Same poll time and offer count as before: only the price (and its history row) changed.
    await seed(sessions, [make_offer("lambdalabs", "H100 SXM", "1.99")], at=NOW)
    html = await page(visitor, "/")
    assert "$1.99" in html and "$2.99" not in html


async def test_a_write_by_another_process_shows_once_the_version_is_read_again(visitor, engine, database_url, sessions):
    await seed(sessions, [make_offer("lambdalabs", "H100 SXM", "2.99")], at=NOW)
    assert "$2.99" in await page(visitor, "/gpus/h100-sxm")
    other_process = make_engine(database_url)  # its commits are not this process's session commits
    try:
        async with other_process.begin() as conn:
            from sqlalchemy import update

            from app.db.models import PriceSource

            await conn.execute(update(PriceSource).values(last_attempt_at=NOW.replace(hour=13),
                                                          last_success_at=NOW.replace(hour=13)))
        cache = visitor.app.state.response_cache
        cache.version_ttl = 0.0  # the TTL (1 s) has passed
        queries = OfferQueries(engine)
        with queries.counting():
            await page(visitor, "/gpus/h100-sxm")
        assert queries.count > 0  # a new data version: rendered again
    finally:
        await other_process.dispose()


async def test_a_signed_in_user_never_gets_or_leaves_a_cached_page(visitor, engine, sessions):
    await seed(sessions, MARKET, at=NOW)
    anonymous = await page(visitor, "/")
    assert "Log in" in anonymous and "Log out" not in anonymous
    await make_user(sessions, "ada@example.com")
    member = Browser(visitor.app, "198.51.100.8")
    try:
        assert (await member.login("ada@example.com")).status_code == 302
        queries = OfferQueries(engine)
        for _ in range(2):
            with queries.counting():
                mine = await page(member, "/")
            assert queries.count > 0  # rendered for them, every time
            assert "Log out" in mine and 'name="_csrf_token"' in mine
        stranger = Browser(visitor.app, "198.51.100.9")
        after = await page(stranger, "/")
        await stranger.close()
        assert "Log out" not in after and "_csrf_token" not in after  # the member's page was not stored
    finally:
        await member.close()


async def test_each_query_is_its_own_entry_and_parameter_order_does_not_matter(visitor, engine, sessions):
    await seed(sessions, MARKET, at=NOW)
    everything = await page(visitor, "/")
    h100 = await page(visitor, "/?gpu=h100&market=on-demand")
    assert "$2.99" in h100 and "$1.29" not in h100 and "$1.29" in everything
    queries = OfferQueries(engine)
    with queries.counting():
        assert await page(visitor, "/?market=on-demand&gpu=h100") == h100
    assert queries.count == 0
    with queries.counting():
        assert "$1.29" not in await page(visitor, "/?gpu=h100&market=spot")
    assert queries.count > 0


@pytest.mark.parametrize("url, field", [("/?max_price=cheap", "max_price"), ("/gpus/h100?days=9999", "days"),
                                        ("/compare?gpu=nonsense", "gpu")])
async def test_a_bad_filter_is_still_a_400_and_is_never_stored(visitor, engine, sessions, url, field):
    await seed(sessions, MARKET, at=NOW)
    queries = OfferQueries(engine)
    for _ in range(2):
        with queries.counting():
            html = await page(visitor, url, status=400)
        assert queries.count > 0 and f"field-error-{field}" in html


async def test_an_unknown_gpu_is_a_404_without_a_cache_entry(visitor, sessions):
    await page(visitor, "/gpus/not-a-gpu", status=404)
    assert len(visitor.app.state.response_cache.store) == 0


async def test_a_cached_page_keeps_the_headers_and_each_visitor_gets_their_own_csrf_cookie(visitor, sessions):
    await seed(sessions, MARKET, at=NOW)
    first = await visitor.get("/")
    second_visitor = Browser(visitor.app, "198.51.100.10")
    cached = await second_visitor.get("/")
    await second_visitor.close()
    for name in ("content-type", "content-security-policy", "x-frame-options", "referrer-policy"):
        assert cached.headers[name] == first.headers[name], name
    assert first.headers["content-type"] == "text/html; charset=utf-8"
    assert "nonce" not in cached.headers["content-security-policy"]  # so a stored body never carries a stale one
    tokens = {first.cookies["computehub_csrf"], cached.cookies["computehub_csrf"]}
    assert len(tokens) == 2  # added per response, outside the cached body
    assert first.headers["x-request-id"] != cached.headers["x-request-id"]


@pytest.mark.parametrize("backend, renders_every_time", [("memory", False), ("off", True)])
async def test_the_setting_turns_the_cache_off(settings, engine, sessions, backend, renders_every_time):
    await seed(sessions, MARKET, at=NOW)
    application = app_with(settings, engine, backend=backend)
    browser, queries = Browser(application), OfferQueries(engine)
    try:
        await page(browser, "/")
        await browser.get("/api/v1/prices?gpu=h100")
        with queries.counting():
            await page(browser, "/")
            assert (await browser.get("/api/v1/prices?gpu=h100")).status_code == 200
        assert (queries.count > 0) is renders_every_time
    finally:
        await browser.close()


@pytest.fixture
def redis_settings(settings):
    require_redis()
    # A Redis shared with other test runs: an address of our own keeps our entries apart.
    web = WebSettings(base_url=f"https://{secrets.token_hex(6)}.computehub.test")
    return replace(settings, web=web, security=replace(settings.security, session_store="redis", redis_url=REDIS_URL))


async def test_two_app_instances_share_pages_through_redis(redis_settings, engine, database_url, sessions):
    """Two processes: each its own engine and app, one Redis. Without their start-up and shut-down
    (see tests/auth/test_throttle_counters.py); the caches are closed here."""
    await seed(sessions, MARKET, at=NOW)
    other_engine = make_engine(database_url)
    first = create_app(redis_settings, engine=engine, run_worker=False)  # backend auto: Redis
    second = create_app(redis_settings, engine=other_engine, run_worker=False)
    browsers = [Browser(first), Browser(second)]
    try:
        rendered = await page(browsers[0], "/?gpu=a100")
        queries = OfferQueries(other_engine)
        with queries.counting():
            assert await page(browsers[1], "/?gpu=a100") == rendered
        assert queries.count == 0  # the second process never rendered it
        await seed(sessions, [make_offer("runpod", "A100 SXM", "0.99")], at=NOW)
        assert "$0.99" in await page(browsers[1], "/?gpu=a100")
    finally:
        for browser in browsers:
            await browser.close()
        for application in (first, second):
            await application.state.response_cache.close()
        await other_engine.dispose()


@pytest.mark.parametrize("accept, encoding", [("br, gzip", "br"), ("gzip", "gzip"), ("identity", None)])
async def test_a_cached_page_goes_out_compressed_as_the_client_asks(visitor, sessions, accept, encoding):
    await seed(sessions, MARKET, at=NOW)
    plain = await page(visitor, "/")  # stored; the next requests are hits
    for _ in range(2):
        response = await visitor.http.get("/", headers={"Accept-Encoding": accept})
        assert response.headers.get("content-encoding") == encoding
        assert response.text == plain  # httpx decodes br and gzip
        if encoding:
            assert "accept-encoding" in response.headers["vary"].lower()
            assert int(response.headers["content-length"]) < len(plain.encode()) / 3
