"""CSRF, cookie flags, session ids, and ?next= that cannot leave the site."""

from __future__ import annotations

import pytest

from tests.auth.support import PASSWORD, make_user


async def test_a_post_without_the_csrf_token_is_refused(browser, sessions):
    await make_user(sessions, "ada@example.com")
    await browser.get("/login")

    missing = await browser.post("/login", {"email": "ada@example.com", "password": PASSWORD}, csrf=False)
    forged = await browser.http.post("/login", data={"email": "ada@example.com", "password": PASSWORD,
                                                     "_csrf_token": "forged-token"})

    assert missing.status_code == 403
    assert forged.status_code == 403
    assert browser.session_id is None  # neither logged in


async def test_logout_needs_the_csrf_token_too(browser, sessions):
    await make_user(sessions, "ada@example.com")
    await browser.login("ada@example.com")
    assert (await browser.post("/logout", csrf=False)).status_code == 403
    assert (await browser.get("/settings/security")).status_code == 200


async def test_session_cookie_is_httponly_and_samesite_lax(browser, sessions):
    await make_user(sessions, "ada@example.com")
    response = await browser.login("ada@example.com")

    [cookie] = [c for c in response.headers.get_list("set-cookie") if c.startswith("computehub_session=")]
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")}
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "samesite=lax"
    assert attributes["path"] == "Path=/"


async def test_login_issues_a_new_session_id(browser, sessions):
    """A session id planted before login (session fixation) must not become the logged-in one."""
    await make_user(sessions, "ada@example.com")
    await browser.submit("/login", "/login", {"email": "ada@example.com", "password": "wrong password!"})
    browser.http.cookies.set("computehub_session", "planted-by-an-attacker", domain="testserver.local")

    await browser.login("ada@example.com")

    assert browser.session_id not in (None, "planted-by-an-attacker")
    attacker = browser.http.cookies.get("computehub_session")
    assert attacker == browser.session_id
    impostor = type(browser)(browser.http._transport.app)  # a second browser replaying the planted id
    impostor.http.cookies.set("computehub_session", "planted-by-an-attacker", domain="testserver.local")
    assert (await impostor.get("/settings/security")).status_code in (302, 303)
    await impostor.close()


async def test_anonymous_pages_store_no_session(browser, app):
    response = await browser.get("/login")
    assert response.status_code == 200
    assert browser.session_id is None
    assert "computehub_csrf" in browser.http.cookies


@pytest.mark.parametrize("target", [
    "https://evil.example/phish", "//evil.example/phish", "/\\evil.example/phish", "\\\\evil.example",
    "http:/evil.example", "javascript:alert(1)", "/\t/evil.example", "evil.example", " //evil.example",
])
async def test_next_cannot_leave_the_site(browser, sessions, target):
    await make_user(sessions, "ada@example.com")

    response = await browser.login("ada@example.com", next=target)

    assert response.headers["location"] == "/console"
    again = await browser.get("/login", params={"next": target})
    assert again.headers["location"] == "/console"


async def test_next_keeps_a_local_path_with_its_query(browser, sessions):
    await make_user(sessions, "ada@example.com")
    response = await browser.login("ada@example.com", next="/settings/providers?added=1")
    assert response.headers["location"] == "/settings/providers?added=1"


async def test_a_protected_page_sends_to_login_with_next(browser):
    response = await browser.get("/settings/providers?x=1")
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/login?next=%2Fsettings%2Fproviders%3Fx%3D1"
