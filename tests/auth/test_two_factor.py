"""TOTP set-up on /settings/security, the login second step, and admins' forced enrolment."""

from __future__ import annotations

import re
import time

from sqlalchemy import select

from app.auth import totp
from app.db.models import User
from app.security.keyring import keyring_from_settings
from tests.auth.support import PASSWORD, make_user

LIMIT = 5


def not_the_code(secret: str) -> str:
    """A well-formed code that is wrong now (and one step either side)."""
    valid = {totp.code_at(secret, time.time() + step * totp.STEP) for step in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def shown_secret(page: str) -> str:
    found = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page)
    assert found, page
    return found.group(1)


async def test_set_up_two_factor_then_log_in_with_a_code(browser, sessions):
    await make_user(sessions, "ada@example.com")
    await browser.login("ada@example.com")

    begun = await browser.submit("/settings/security", "/settings/security/totp/begin")
    assert begun.status_code in (200, 201)
    secret = shown_secret(begun.text)
    assert f"secret={secret}" in begun.text  # the otpauth:// link for phones

    wrong = await browser.post("/settings/security/totp/confirm", {"code": not_the_code(secret)})
    assert wrong.status_code == 400 and "that code is not right" in wrong.text
    confirmed = await browser.post("/settings/security/totp/confirm", {"code": totp.code_at(secret)})
    assert confirmed.headers["location"] == "/settings/security"
    page = await browser.get("/settings/security")
    assert "Two-factor authentication is <strong>on</strong>" in page.text
    assert secret not in page.text
    async with sessions() as session:
        stored = (await session.execute(select(User.totp_secret))).scalar_one()
    assert secret not in stored and stored.startswith("v1:test1:")

    await browser.logout()
    first = await browser.login("ada@example.com", next="/settings/security")
    assert first.headers["location"] == "/login/2fa"
    # The password alone is not a login.
    assert (await browser.get("/settings/security")).headers["location"].startswith("/login")

    bad = await browser.submit("/login/2fa", "/login/2fa", {"code": "12345"})
    assert bad.status_code == 400 and "That code is not right." in bad.text
    good = await browser.submit("/login/2fa", "/login/2fa", {"code": totp.code_at(secret)})
    assert good.headers["location"] == "/settings/security"
    assert (await browser.get("/settings/security")).status_code == 200


async def test_the_second_step_needs_a_pending_login(browser):
    assert (await browser.get("/login/2fa")).headers["location"] == "/login"
    assert (await browser.submit("/login", "/login/2fa", {"code": "123456"})).headers["location"] == "/login"


async def test_code_guesses_are_limited_and_a_correct_password_does_not_reset_them(browser, sessions, settings):
    _, secret = await make_user(sessions, "ada@example.com", totp_keyring=keyring_from_settings(settings))
    wrong = not_the_code(secret)
    assert (await browser.login("ada@example.com")).headers["location"] == "/login/2fa"
    for _ in range(LIMIT):
        assert (await browser.submit("/login/2fa", "/login/2fa", {"code": wrong})).status_code == 400

    assert (await browser.submit("/login/2fa", "/login/2fa", {"code": totp.code_at(secret)})).status_code == 429
    # Logging in again with the right password does not buy a new round of guesses.
    again = await browser.login("ada@example.com")
    assert again.status_code == 429


async def test_turning_two_factor_off_needs_a_current_code(browser, sessions, settings):
    _, secret = await make_user(sessions, "ada@example.com", totp_keyring=keyring_from_settings(settings))
    await browser.login("ada@example.com")
    await browser.submit("/login/2fa", "/login/2fa", {"code": totp.code_at(secret)})

    refused = await browser.submit("/settings/security", "/settings/security/totp/disable", {"code": "12"})
    assert refused.status_code == 400
    turned_off = await browser.submit("/settings/security", "/settings/security/totp/disable",
                                      {"code": totp.code_at(secret)})
    assert turned_off.headers["location"] == "/settings/security"
    async with sessions() as session:
        user = (await session.execute(select(User))).scalar_one()
    assert (user.totp_enabled, user.totp_secret) == (False, None)


async def test_an_admin_must_turn_on_two_factor_before_anything_else(browser, sessions):
    await make_user(sessions, "root@example.com", is_admin=True)

    login = await browser.login("root@example.com", next="/settings/providers")
    assert login.headers["location"] == "/settings/security"
    forced = await browser.get("/settings/providers")
    assert forced.status_code in (302, 303) and forced.headers["location"] == "/settings/security"
    page = await browser.get("/settings/security")
    assert page.status_code == 200
    assert "Administrators must turn on two-factor authentication" in page.text

    begun = await browser.post("/settings/security/totp/begin")
    secret = shown_secret(begun.text)
    await browser.post("/settings/security/totp/confirm", {"code": totp.code_at(secret)})

    assert (await browser.get("/settings/providers")).status_code == 200
    # Admins cannot turn it off again.
    off = await browser.submit("/settings/security", "/settings/security/totp/disable", {"code": totp.code_at(secret)})
    assert off.status_code == 400 and "must keep two-factor" in off.text


async def test_an_admin_with_two_factor_logs_in_through_the_second_step(browser, sessions, settings):
    _, secret = await make_user(sessions, "root@example.com", is_admin=True,
                                totp_keyring=keyring_from_settings(settings))
    assert (await browser.login("root@example.com", PASSWORD)).headers["location"] == "/login/2fa"
    done = await browser.submit("/login/2fa", "/login/2fa", {"code": totp.code_at(secret)})
    assert done.headers["location"] == "/console"
    assert (await browser.get("/settings/providers")).status_code == 200
