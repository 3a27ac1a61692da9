"""Cache hits answered in front of Litestar (app/web/cache_hits.py): a visitor's repeat request gets
exactly what Litestar sent, with the same headers, and never a page older than the data."""

from __future__ import annotations

import pytest

from app.web.cache_hits import CacheHitLayer
from tests.auth.support import Browser, fast_password_hashing, make_user, settings  # noqa: F401 - fixtures
from tests.support.factories import NOW, make_offer, seed
from tests.web.test_page_cache import MARKET, OfferQueries, app_with

PER_RESPONSE = {"x-request-id", "set-cookie", "date"}
"""Headers that differ between any two responses (each gets its own id and CSRF token)."""


@pytest.fixture
async def visitor(settings, engine, sessions):
    application = app_with(settings, engine, backend="memory")
    # A slow first render must not outlive the version's TTL (a replay would then wait for Litestar
    # to read the version again): in-process commits still end it at once.
    application.state.response_cache.version_ttl = 600.0
    browser = Browser(application)
    browser.app = application
    yield browser
    await browser.close()
    await application.state.response_cache.close()


def layer_of(app) -> CacheHitLayer:
    handler = app.asgi_handler
    while not isinstance(handler, CacheHitLayer):
        handler = handler.app
    return handler


def fixed_headers(response) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in response.headers.multi_items() if k not in PER_RESPONSE)


@pytest.mark.parametrize("url", ["/", "/gpus", "/gpus/h100", "/api/v1/prices?gpu=h100", "/api/v1/prices"])
@pytest.mark.parametrize("encoding", ["br", "gzip", "identity"])
async def test_a_replayed_hit_has_the_headers_and_body_of_the_normal_response(visitor, sessions, url, encoding):
    await seed(sessions, MARKET, at=NOW)
    layer = layer_of(visitor.app)
    headers = {"accept-encoding": encoding}
    normal = await Browser(visitor.app, "198.51.100.20").get(url, headers=headers)  # Litestar answers
    before = layer.replayed
    replayed = await Browser(visitor.app, "198.51.100.21").get(url, headers=headers)
    assert layer.replayed == before + 1
    assert normal.status_code == replayed.status_code == 200
    assert fixed_headers(replayed) == fixed_headers(normal)
    assert replayed.content == normal.content
    assert replayed.headers["x-request-id"] != normal.headers["x-request-id"]
    assert "content-security-policy" in replayed.headers and "x-content-type-options" in replayed.headers
    if url.startswith("/api/"):  # the API sets no CSRF cookie, on either path
        assert "set-cookie" not in normal.headers and "set-cookie" not in replayed.headers
    else:  # each visitor gets a token of their own, with the same cookie attributes
        new, old = replayed.headers["set-cookie"], normal.headers["set-cookie"]
        assert new != old and new.split(";", 1)[1] == old.split(";", 1)[1]


async def test_a_visitor_who_has_a_csrf_cookie_keeps_it_on_a_replay(visitor, sessions):
    await seed(sessions, MARKET, at=NOW)
    first = await visitor.get("/")
    assert "computehub_csrf" in first.cookies
    layer = layer_of(visitor.app)
    before = layer.replayed
    again = await visitor.get("/")  # the same browser, its cookie sent back
    assert layer.replayed == before + 1
    assert "set-cookie" not in again.headers


async def test_each_encoding_is_kept_apart(visitor, sessions):
    await seed(sessions, MARKET, at=NOW)
    for encoding in ("br", "gzip", "br", "gzip"):
        response = await Browser(visitor.app).get("/", headers={"accept-encoding": encoding})
        assert response.headers["content-encoding"] == encoding


async def test_a_signed_in_user_is_never_replayed_a_visitors_page(visitor, sessions, engine):
    await seed(sessions, MARKET, at=NOW)
    await visitor.get("/")
    await visitor.get("/")
    await make_user(sessions, "ada@example.com")
    member = Browser(visitor.app, "198.51.100.8")
    try:
        assert (await member.login("ada@example.com")).status_code == 302
        queries = OfferQueries(engine)
        with queries.counting():
            mine = await member.get("/")
        assert queries.count > 0 and "Log out" in mine.text
    finally:
        await member.close()


@pytest.mark.parametrize("url", ["/", "/api/v1/prices"])
async def test_a_price_change_shows_on_the_next_request(visitor, sessions, url):
    await seed(sessions, [make_offer("lambdalabs", "H100 SXM", "2.99")], at=NOW)
    for _ in range(2):  # the second one replayed
        assert "2.99" in (await visitor.get(url)).text
    await seed(sessions, [make_offer("lambdalabs", "H100 SXM", "1.99")], at=NOW)
    text = (await visitor.get(url)).text
    assert "1.99" in text and "2.99" not in text


async def test_a_body_older_than_max_age_goes_back_to_litestar(visitor, sessions):
    await seed(sessions, MARKET, at=NOW)
    cache = visitor.app.state.response_cache
    layer = layer_of(visitor.app)
    await visitor.get("/")
    cache.max_age = -1.0  # every stored body is now too old to be replayed
    before = layer.replayed
    passed_on = await visitor.get("/")  # Litestar serves the old body once more and starts a render
    assert passed_on.status_code == 200 and layer.replayed == before
    meanwhile = await visitor.get("/")  # within the second: the old body, as Litestar would send it
    assert layer.replayed == before + 1 and meanwhile.content == passed_on.content
