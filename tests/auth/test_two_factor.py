"""TOTP set-up on /settings/security, the login second step, and admins' forced enrolment."""

from __future__ import annotations

import asyncio
import re
import time
from types import SimpleNamespace

import segno
from sqlalchemy import select

from app.auth import service, totp
from app.db.models import RecoveryCode, User
from app.security.keyring import keyring_from_settings
from tests.auth.support import PASSWORD, make_user

LIMIT = 5


def not_the_code(secret: str) -> str:
    """A well-formed code that is wrong now (and one step either side)."""
    valid = {totp.code_at(secret, time.time() + step * totp.STEP) for step in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def previous_code(secret: str) -> str:
    return totp.code_at(secret, time.time() - totp.STEP)


def next_code(secret: str) -> str:
    return totp.code_at(secret, time.time() + totp.STEP)


def shown_recovery_codes(page: str) -> list[str]:
    return re.findall(r'<li><code class="secret">([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code></li>', page)


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
    # The previous step's code (still within the drift window): the current one stays for the login.
    confirmed = await browser.post("/settings/security/totp/confirm", {"code": previous_code(secret)})
    assert confirmed.status_code == 200 and len(shown_recovery_codes(confirmed.text)) == 10
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
                                      {"code": next_code(secret)})  # the login's code is spent
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


async def test_turning_two_factor_off_deletes_the_recovery_codes_and_a_recovery_code_can_do_it(browser, sessions, settings):
    user, secret = await make_user(sessions, "ada@example.com", totp_keyring=keyring_from_settings(settings))
    codes = await regenerate(browser, sessions, "ada@example.com", secret)
    turned_off = await browser.submit("/settings/security", "/settings/security/totp/disable", {"code": codes[0]})
    assert turned_off.headers["location"] == "/settings/security"
    async with sessions() as session:
        assert (await session.execute(select(RecoveryCode))).all() == []


async def test_set_up_cannot_restart_while_two_factor_is_on(browser, sessions, settings):
    """Else a stolen session could swap the secret (and so turn two-factor off) without a code."""
    _, secret = await make_user(sessions, "ada@example.com", totp_keyring=keyring_from_settings(settings))
    await browser.login("ada@example.com")
    await browser.submit("/login/2fa", "/login/2fa", {"code": totp.code_at(secret)})

    again = await browser.submit("/settings/security", "/settings/security/totp/begin")
    assert again.status_code == 400 and "already on" in again.text
    async with sessions() as session:
        user = (await session.execute(select(User))).scalar_one()
    assert user.totp_enabled and service.pending_totp_secret(user, keyring_from_settings(settings)) == secret


# --- replays ----------------------------------------------------------------------------------------

async def log_in_with_code(browser, email: str, code: str):
    assert (await browser.login(email)).headers["location"] == "/login/2fa"
    return await browser.submit("/login/2fa", "/login/2fa", {"code": code})


async def test_one_code_completes_the_second_step_once(new_browser, sessions, settings):
    _, secret = await make_user(sessions, "ada@example.com", totp_keyring=keyring_from_settings(settings))
    code = totp.code_at(secret)

    first = await log_in_with_code(new_browser(), "ada@example.com", code)
    assert first.headers["location"] == "/console"
    for _ in range(2):  # the probe's second and third use, from other clients
        replay = await log_in_with_code(new_browser("203.0.113.50"), "ada@example.com", code)
        assert replay.status_code == 400 and "That code is not right." in replay.text


async def test_an_older_code_after_a_newer_one_is_refused(browser, sessions, settings):
    _, secret = await make_user(sessions, "ada@example.com", totp_keyring=keyring_from_settings(settings))
    now = time.time()
    newer, older = totp.code_at(secret, now + totp.STEP), totp.code_at(secret, now)

    assert (await log_in_with_code(browser, "ada@example.com", newer)).headers["location"] == "/console"
    await browser.logout()
    assert (await log_in_with_code(browser, "ada@example.com", older)).status_code == 400


async def test_a_used_code_does_not_turn_two_factor_off(browser, sessions, settings):
    _, secret = await make_user(sessions, "ada@example.com", totp_keyring=keyring_from_settings(settings))
    code = totp.code_at(secret)
    await log_in_with_code(browser, "ada@example.com", code)
    for stale in (code, previous_code(secret)):
        refused = await browser.submit("/settings/security", "/settings/security/totp/disable", {"code": stale})
        assert refused.status_code == 400 and "that code is not right" in refused.text
    async with sessions() as session:
        assert (await session.execute(select(User.totp_enabled))).scalar_one() is True


async def test_two_concurrent_second_steps_with_one_code_let_only_one_in(new_browser, sessions, settings):
    _, secret = await make_user(sessions, "ada@example.com", totp_keyring=keyring_from_settings(settings))
    code = totp.code_at(secret)
    browsers = [new_browser(f"203.0.113.{i + 1}") for i in range(4)]
    for b in browsers:
        assert (await b.login("ada@example.com")).headers["location"] == "/login/2fa"
        await b.get("/login/2fa")

    answers = await asyncio.gather(*(b.post("/login/2fa", {"code": code}) for b in browsers))

    assert sorted(a.status_code for a in answers) == [302, 400, 400, 400]


async def test_the_step_is_recorded_atomically_between_two_sessions(sessions, settings):
    """Both requests read the user before either writes: only the conditional write decides."""
    keyring = keyring_from_settings(settings)
    user, secret = await make_user(sessions, "ada@example.com", totp_keyring=keyring)
    made_at = time.time()  # the stored step is the code's, even if the clock moves to the next step meanwhile
    code = totp.code_at(secret, made_at)
    first, second = sessions(), sessions()
    try:
        first_user, second_user = await first.get(User, user.id), await second.get(User, user.id)
        assert await service.accept_totp(first, first_user, keyring, code)
        racing = asyncio.create_task(service.accept_totp(second, second_user, keyring, code))
        await asyncio.sleep(0.2)  # PostgreSQL: waits on the row lock; SQLite: on the write lock
        await first.commit()
        assert await racing is False
        await second.commit()
    finally:
        await first.close()
        await second.close()
    async with sessions() as session:
        assert (await session.get(User, user.id)).totp_last_step == totp.step_at(made_at)


# --- recovery codes -----------------------------------------------------------------------------------

async def regenerate(browser, sessions, email: str, secret: str) -> list[str]:
    """Log in with the current code, then make new recovery codes with the next one."""
    assert (await log_in_with_code(browser, email, totp.code_at(secret))).headers["location"] == "/console"
    page = await browser.submit("/settings/security", "/settings/security/recovery-codes", {"code": next_code(secret)})
    assert page.status_code == 200, page.text
    codes = shown_recovery_codes(page.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    return codes


async def test_enrolment_shows_ten_recovery_codes_once_and_stores_them_hashed(browser, sessions):
    await make_user(sessions, "ada@example.com")
    await browser.login("ada@example.com")
    secret = shown_secret((await browser.submit("/settings/security", "/settings/security/totp/begin")).text)

    confirmed = await browser.post("/settings/security/totp/confirm", {"code": totp.code_at(secret)})
    codes = shown_recovery_codes(confirmed.text)
    assert len(set(codes)) == 10

    page = await browser.get("/settings/security")
    assert shown_recovery_codes(page.text) == [] and "10 of 10 recovery codes left." in page.text
    async with sessions() as session:
        rows = (await session.execute(select(RecoveryCode))).scalars().all()
        dump = repr([(r.code_hash, r.used_at) for r in rows])
    assert len(rows) == 10 and all(len(r.code_hash) == 64 for r in rows)
    for code in codes:
        assert code not in dump and code.replace("-", "") not in dump


async def test_a_recovery_code_replaces_the_code_once(new_browser, browser, sessions, settings):
    _, secret = await make_user(sessions, "ada@example.com", totp_keyring=keyring_from_settings(settings))
    codes = await regenerate(browser, sessions, "ada@example.com", secret)

    # Typed the way people do: upper case, without dashes, with spaces.
    typed = codes[3].upper().replace("-", " ")
    used = await log_in_with_code(new_browser(), "ada@example.com", typed)
    assert used.headers["location"] == "/console"
    again = await log_in_with_code(new_browser("203.0.113.77"), "ada@example.com", codes[3])
    assert again.status_code == 400
    assert (await log_in_with_code(new_browser(), "ada@example.com", codes[4])).headers["location"] == "/console"
    assert "8 of 10 recovery codes left." in (await browser.get("/settings/security")).text


async def test_new_recovery_codes_need_a_current_code_and_replace_the_old_ones(browser, new_browser, sessions, settings,
                                                                               monkeypatch):
    _, secret = await make_user(sessions, "ada@example.com", totp_keyring=keyring_from_settings(settings))
    old = await regenerate(browser, sessions, "ada@example.com", secret)

    refused = await browser.submit("/settings/security", "/settings/security/recovery-codes", {"code": old[0]})
    assert refused.status_code == 400 and shown_recovery_codes(refused.text) == []
    refused = await browser.submit("/settings/security", "/settings/security/recovery-codes", {"code": next_code(secret)})
    assert refused.status_code == 400  # that code was spent making the first set
    fresh = await browser.submit("/settings/security", "/settings/security/recovery-codes",
                                 {"code": totp.code_at(secret, time.time() + 2 * totp.STEP)})
    assert fresh.status_code == 400  # outside the drift window: never accepted early

    later = await regenerate_a_minute_later(browser, secret, monkeypatch)
    assert set(later).isdisjoint(old)
    assert (await log_in_with_code(new_browser(), "ada@example.com", old[1])).status_code == 400
    assert (await log_in_with_code(new_browser(), "ada@example.com", later[1])).headers["location"] == "/console"


async def regenerate_a_minute_later(browser, secret: str, monkeypatch) -> list[str]:
    """Two time steps on (the server's TOTP clock only), a code not used yet makes new codes."""
    later = time.time() + 2 * totp.STEP
    monkeypatch.setattr(totp, "time", SimpleNamespace(time=lambda: later))
    page = await browser.submit("/settings/security", "/settings/security/recovery-codes",
                                {"code": totp.code_at(secret, later)})
    assert page.status_code == 200, page.text
    return shown_recovery_codes(page.text)


async def test_wrong_recovery_codes_count_against_the_login_budget(browser, sessions, settings):
    _, secret = await make_user(sessions, "ada@example.com", totp_keyring=keyring_from_settings(settings))
    assert (await browser.login("ada@example.com", "wrong password!")).status_code == 400
    assert (await browser.login("ada@example.com")).headers["location"] == "/login/2fa"
    for guess in ("aaaa-bbbb-cccc-dddd", "2345-6723-4567-2345", "not a code", not_the_code(secret)):
        assert (await browser.submit("/login/2fa", "/login/2fa", {"code": guess})).status_code == 400
    assert (await browser.submit("/login/2fa", "/login/2fa", {"code": totp.code_at(secret)})).status_code == 429


# --- the QR code ----------------------------------------------------------------------------------------

async def test_the_enrolment_page_shows_a_qr_code_of_the_provisioning_uri(browser, sessions):
    await make_user(sessions, "ada@example.com")
    await browser.login("ada@example.com")
    page = (await browser.submit("/settings/security", "/settings/security/totp/begin")).text
    secret = shown_secret(page)

    figure = re.search(r'<figure class="totp-qr-code" data-testid="totp-qr">(<svg.*?</svg>)</figure>', page, re.S)
    assert figure, page
    svg = figure.group(1)
    # It is the QR code of this secret's otpauth:// URI, drawn in the page (nothing loaded from elsewhere).
    assert svg == segno.make(totp.provisioning_uri(secret, "ada@example.com"), error="m").svg_inline(
        scale=4, border=4, dark="#000", light="#fff", svgclass="totp-qr", lineclass=None,
        title="QR code for your authenticator app")
    assert "href" not in svg and "<script" not in svg and "style=" not in svg
    # No script and no event-handler attributes in it: the Content-Security-Policy allows no inline script.
    content = page.split('<section class="narrow">', 1)[1].split("</section>", 1)[0]
    assert "<script" not in content and re.findall(r"\son[a-z]+\s*=", content) == []
