"""CSRF tokens are bound to the session; logout deletes the session and expires its cookie."""

from __future__ import annotations

from tests.auth.support import make_user


async def logged_in(new_browser, sessions, email: str):
    await make_user(sessions, email)
    browser = new_browser()
    assert (await browser.login(email)).status_code in (302, 303)
    await browser.get("/settings/security")  # a page with a form: this session's token
    return browser


async def test_a_token_from_another_session_is_refused(new_browser, sessions):
    ada = await logged_in(new_browser, sessions, "ada@example.com")
    bob = await logged_in(new_browser, sessions, "bob@example.com")

    # Bob's request carrying Ada's token (a token stolen from, or planted for, another session).
    stolen = await bob.http.post("/logout", data={"_csrf_token": ada.form_token})
    via_header = await bob.http.post("/logout", headers={"x-csrftoken": ada.form_token})

    assert stolen.status_code == 403 and via_header.status_code == 403
    assert (await bob.get("/settings/security")).status_code == 200  # still logged in
    assert (await bob.post("/logout")).status_code in (302, 303)  # his own token works


async def test_a_cookie_and_token_pair_planted_by_an_attacker_is_refused_once_logged_in(new_browser, sessions):
    attacker = new_browser("203.0.113.66")
    await attacker.get("/login")
    planted = attacker.http.cookies["computehub_csrf"]  # a valid anonymous pair: cookie == token
    victim = await logged_in(new_browser, sessions, "ada@example.com")
    victim.http.cookies.set("computehub_csrf", planted, domain="testserver.local")

    response = await victim.http.post("/logout", data={"_csrf_token": planted})

    assert response.status_code == 403
    assert (await victim.get("/settings/security")).status_code == 200


async def test_the_token_of_the_login_page_stops_working_after_login(new_browser, sessions):
    await make_user(sessions, "ada@example.com")
    browser = new_browser()
    await browser.get("/login")
    before_login = browser.form_token
    assert (await browser.post("/login", {"email": "ada@example.com", "password": "correct horse battery"})
            ).status_code in (302, 303)

    assert (await browser.http.post("/logout", data={"_csrf_token": before_login})).status_code == 403
    # The cookie follows the new session, so scripts reading it (and browsers) keep working.
    fresh = browser.http.cookies["computehub_csrf"]
    assert fresh != before_login
    assert (await browser.http.post("/logout", headers={"x-csrftoken": fresh})).status_code in (302, 303)


async def test_anonymous_forms_still_work_and_need_the_token(browser, sessions):
    await make_user(sessions, "ada@example.com")
    assert (await browser.post("/forgot", {"email": "ada@example.com"}, csrf=False)).status_code == 403
    assert (await browser.submit("/forgot", "/forgot", {"email": "ada@example.com"})).status_code == 200
    forged = await browser.http.post("/forgot", data={"email": "ada@example.com", "_csrf_token": "a.00.00"})
    assert forged.status_code == 403


async def test_logout_expires_the_cookie_and_deletes_the_server_side_session(browser, app, sessions):
    await make_user(sessions, "ada@example.com")
    await browser.login("ada@example.com")
    session_id = browser.session_id
    store = app.stores.get("sessions")
    assert await store.exists(session_id)

    response = await browser.logout()

    assert response.status_code in (302, 303)
    [cookie] = [c for c in response.headers.get_list("set-cookie") if c.startswith("computehub_session=")]
    attributes = {p.strip().split("=", 1)[0].lower(): p.strip().split("=", 1)[-1] for p in cookie.split(";")}
    assert cookie.startswith("computehub_session=;")
    assert attributes["max-age"] == "0"
    assert "1970" in attributes["expires"]
    assert not await store.exists(session_id)
    assert browser.session_id is None
    # Replaying the old cookie (copied before logout) is not logged in.
    browser.http.cookies.set("computehub_session", session_id, domain="testserver.local")
    assert (await browser.get("/settings/security")).status_code in (302, 303)


async def test_pages_show_a_fresh_mask_of_the_token_each_time_and_each_one_works(new_browser, sessions):
    """Compressed pages must not repeat the session's secret token byte for byte (BREACH)."""
    ada = await logged_in(new_browser, sessions, "ada@example.com")
    first = ada.form_token
    await ada.get("/settings/security")
    second = ada.form_token
    session_token = ada.http.cookies.get("computehub_csrf")
    assert first != second and session_token not in (first, second)
    assert session_token not in (await ada.get("/settings/security")).text
    # A forged mask (right shape, wrong content) is refused; the older mask still works.
    kind, pad, body = first.split(".")
    forged = f"{kind}.{pad}.{'0' * len(body)}"
    assert (await ada.http.post("/logout", data={"_csrf_token": forged})).status_code == 403
    assert (await ada.http.post("/logout", data={"_csrf_token": first})).status_code in (302, 303)
