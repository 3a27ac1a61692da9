"""Sign up, log in, log out: what a visitor sees."""

from __future__ import annotations

from sqlalchemy import select

from app.db.models import User
from tests.auth.support import PASSWORD, make_user


async def test_signup_logs_the_new_user_in(browser, sessions):
    response = await browser.submit("/signup", "/signup",
                                    {"name": "Ada Lovelace", "email": " Ada@Example.COM ", "password": PASSWORD})

    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/console"
    assert (await browser.get("/settings/security")).status_code == 200
    async with sessions() as session:
        user = (await session.execute(select(User))).scalar_one()
    assert (user.email, user.name, user.is_admin, user.totp_enabled) == ("ada@example.com", "Ada Lovelace", False, False)
    assert PASSWORD not in user.password_hash and user.password_hash.startswith("$argon2id$")


async def test_signup_errors_keep_what_was_typed_but_never_the_password(browser, sessions):
    response = await browser.submit("/signup", "/signup",
                                    {"name": "Ada Lovelace", "email": "ada@example.com", "password": "short-pw"})

    assert response.status_code == 400
    assert "at least 10 characters" in response.text
    assert 'value="Ada Lovelace"' in response.text
    assert 'value="ada@example.com"' in response.text
    assert "short-pw" not in response.text
    async with sessions() as session:
        assert (await session.execute(select(User))).first() is None

    bad_email = await browser.post("/signup", {"name": "Ada", "email": "not-an-address", "password": PASSWORD})
    assert bad_email.status_code == 400
    assert "valid e-mail address" in bad_email.text
    assert 'value="not-an-address"' in bad_email.text


async def test_signup_refuses_an_address_that_already_has_an_account(browser, sessions):
    await make_user(sessions, "ada@example.com")

    response = await browser.submit("/signup", "/signup",
                                    {"name": "Impostor", "email": "ADA@example.com", "password": "another password"})

    assert response.status_code == 400
    assert "already exists" in response.text
    assert 'value="Impostor"' in response.text
    async with sessions() as session:
        users = (await session.execute(select(User))).scalars().all()
    assert [u.name for u in users] == ["Ada"]


async def test_login_and_logout(browser, sessions):
    await make_user(sessions, "ada@example.com")
    assert (await browser.get("/settings/security")).headers["location"].startswith("/login?next=")

    response = await browser.login("ADA@example.com")

    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/console"
    assert (await browser.get("/settings/security")).status_code == 200
    async with sessions() as session:
        assert (await session.execute(select(User.last_login_at))).scalar_one() is not None

    logged_out = await browser.logout()
    assert logged_out.headers["location"] == "/"
    assert (await browser.get("/settings/security")).headers["location"].startswith("/login")


async def test_wrong_password_is_refused_and_keeps_the_email(browser, sessions):
    await make_user(sessions, "ada@example.com")

    response = await browser.login("ada@example.com", "wrong password!")

    assert response.status_code == 400
    assert "Wrong e-mail address or password." in response.text
    assert 'value="ada@example.com"' in response.text
    assert "wrong password!" not in response.text
    assert (await browser.get("/settings/security")).status_code in (302, 303)


async def test_unknown_address_gets_the_same_answer_as_a_wrong_password(browser, sessions):
    await make_user(sessions, "ada@example.com")

    unknown = await browser.login("nobody@example.com", "wrong password!")
    wrong = await browser.login("ada@example.com", "wrong password!")

    assert unknown.status_code == wrong.status_code == 400
    assert "Wrong e-mail address or password." in unknown.text


async def test_login_page_redirects_a_logged_in_user(browser, sessions):
    await make_user(sessions, "ada@example.com")
    await browser.login("ada@example.com")

    assert (await browser.get("/login?next=/settings/providers")).headers["location"] == "/settings/providers"
    assert (await browser.get("/signup")).headers["location"] == "/console"
