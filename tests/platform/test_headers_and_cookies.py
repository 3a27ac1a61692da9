"""Security headers on every response, no inline script in any page, Secure cookies on https."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from litestar.testing import AsyncTestClient

from app.server import create_app
from app.settings import Settings, WebSettings
from tests.auth.support import Browser, make_user

PUBLIC = ["/", "/gpus", "/gpus/h100-sxm", "/compare", "/sources", "/login", "/signup", "/forgot", "/schema",
          "/no-such-page", "/gpus/no-such-gpu", "/static/site.css", "/static/site.js", "/robots.txt",
          "/sitemap.xml", "/api/v1/prices", "/api/v1/gpus", "/api/v1/no-such-thing", "/healthz", "/metrics",
          "/console", "/settings/security"]  # the last two: redirects to /login
SIGNED_IN = ["/console", "/console/overview", "/console/templates", "/costs",
             "/settings/security", "/settings/profile", "/settings/providers", "/settings/subscription",
             "/settings/notifications", "/"]

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=[\"']application/(?:ld\+)?json)[^>]*>", re.I)
HANDLER_ATTRIBUTE = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
JS_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.I)


def csp_directives(response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {part.strip().split(" ", 1)[0]: part.strip() for part in policy.split(";") if part.strip()}


def assert_hardened(response, path: str) -> None:
    headers = response.headers
    assert headers.get("x-content-type-options") == "nosniff", path
    assert headers.get("referrer-policy") in ("strict-origin-when-cross-origin", "no-referrer"), path
    csp = csp_directives(response)
    assert csp["frame-ancestors"] == "frame-ancestors 'none'", path
    assert csp["object-src"] == "object-src 'none'", path
    assert csp["base-uri"] == "base-uri 'self'", path
    assert csp["form-action"] == "form-action 'self'", path
    assert csp["script-src"].startswith("script-src 'self'"), path
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"], path
    if "text/html" in headers.get("content-type", ""):
        assert not INLINE_SCRIPT.search(response.text), (path, INLINE_SCRIPT.search(response.text))
        assert not HANDLER_ATTRIBUTE.search(response.text), (path, HANDLER_ATTRIBUTE.search(response.text))
        assert not JS_URL.search(response.text), path


async def test_every_public_response_has_the_headers_and_no_inline_script(browser, sessions):
    for path in PUBLIC:
        response = await browser.get(path)
        assert response.status_code < 500, (path, response.status_code)
        assert_hardened(response, path)
        assert "strict-transport-security" not in response.headers, path  # plain-http base URL


async def test_every_signed_in_page_has_the_headers_and_no_inline_script(browser, sessions):
    await make_user(sessions, "ada@example.com")
    assert (await browser.login("ada@example.com")).status_code in (302, 303)
    for path in SIGNED_IN:
        response = await browser.get(path)
        assert response.status_code in (200, 403), (path, response.status_code)  # 403: not in the plan
        assert_hardened(response, path)
    assert_hardened(await browser.logout(), "/logout")  # a redirect


async def test_a_refused_post_has_the_headers_too(browser, sessions):
    response = await browser.post("/login", {"email": "x@example.com", "password": "x"}, csrf=False)
    assert response.status_code == 403
    assert_hardened(response, "/login (403)")


@pytest.fixture
async def https_app(settings, engine, sessions):
    # secure_cookies unset (the shared test settings pin it to False): derived from the https base URL
    https = replace(settings, web=WebSettings(base_url="https://computehub.example"),
                    security=replace(settings.security, secure_cookies=None))
    application = create_app(https, engine=engine, run_worker=False)
    async with AsyncTestClient(app=application):
        yield application


def cookie_attributes(set_cookie: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in set_cookie.split(";")[1:]}


async def test_on_an_https_base_url_every_cookie_is_secure_and_hsts_is_sent(https_app, sessions):
    await make_user(sessions, "ada@example.com")
    browser = Browser(https_app)
    browser.http.base_url = "https://testserver.local"  # a browser sends Secure cookies only over https
    try:
        pages = [await browser.get("/login"), await browser.login("ada@example.com"), await browser.get("/console"),
                 await browser.logout()]
        cookies = [c for r in pages for c in r.headers.get_list("set-cookie")]
        assert {c.split("=")[0] for c in cookies} >= {"computehub_csrf", "computehub_session"}
        for cookie in cookies:
            assert "secure" in cookie_attributes(cookie), cookie
        for response in pages:
            assert response.headers["strict-transport-security"].startswith("max-age=")
    finally:
        await browser.close()


async def test_on_an_http_base_url_cookies_are_not_secure(browser, sessions):
    """The local run (http://127.0.0.1:8000): a Secure cookie would never come back, so no login."""
    await make_user(sessions, "ada@example.com")
    response = await browser.login("ada@example.com")
    [session_cookie] = [c for c in response.headers.get_list("set-cookie") if c.startswith("computehub_session=")]
    assert "secure" not in cookie_attributes(session_cookie)


def test_secure_cookies_follow_the_base_url_unless_set_explicitly():
    from app.settings import SecuritySettings

    assert Settings(web=WebSettings(base_url="https://x.example"), security=SecuritySettings()).secure_cookies
    assert not Settings(web=WebSettings(base_url="http://127.0.0.1:8000"), security=SecuritySettings()).secure_cookies
    forced = Settings(web=WebSettings(base_url="http://127.0.0.1:8000"), security=SecuritySettings(secure_cookies=True))
    assert forced.secure_cookies
