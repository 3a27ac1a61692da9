"""Password reset by e-mailed link: end to end through the outbox, single use, one hour."""

from __future__ import annotations

import time

import email
import re
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest

from app.auth import service, totp
from app.db.models import PasswordResetToken, User
from app.db.types import utcnow
from app.security.keyring import Keyring
from tests.auth.support import PASSWORD, make_user
from tests.billing.support import grant

NEW_PASSWORD = "a brand new passphrase"


def outbox(settings) -> list[email.message.EmailMessage]:
    folder: Path = settings.mail.outbox_dir
    files = sorted(folder.glob("*.eml")) if folder.exists() else []
    return [email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]


def reset_path(message, settings) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    base = settings.web.base_url.rstrip("/")
    link = re.search(re.escape(base) + r"(/reset/[A-Za-z0-9_-]+)\s", body)
    assert link, body
    return link.group(1)


async def test_reset_end_to_end(browser, sessions, settings):
    await make_user(sessions, "ada@example.com", name="Ada")

    sent = await browser.submit("/forgot", "/forgot", {"email": "Ada@Example.com"})

    assert sent.status_code == 200
    assert "we have sent it a link" in sent.text
    [message] = outbox(settings)
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Reset your ComputeHub password"
    path = reset_path(message, settings)

    mismatch = await browser.submit(path, path, {"password": NEW_PASSWORD, "password_confirm": "something else"})
    assert mismatch.status_code == 400 and "The two passwords differ." in mismatch.text

    done = await browser.submit(path, path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert done.status_code in (302, 303)
    assert done.headers["location"] == "/login?reset=1"

    assert (await browser.login("ada@example.com", PASSWORD)).status_code == 400
    assert (await browser.login("ada@example.com", NEW_PASSWORD)).headers["location"] == "/console"

    # The link works once.
    await browser.logout()
    again = await browser.submit(path, path, {"password": "yet another passphrase",
                                              "password_confirm": "yet another passphrase"})
    assert again.status_code == 400
    assert "invalid or has expired" in again.text
    assert (await browser.login("ada@example.com", NEW_PASSWORD)).headers["location"] == "/console"


async def test_a_weak_new_password_keeps_the_link_usable(browser, sessions, settings):
    await make_user(sessions, "ada@example.com")
    await browser.submit("/forgot", "/forgot", {"email": "ada@example.com"})
    path = reset_path(outbox(settings)[0], settings)

    weak = await browser.submit(path, path, {"password": "short", "password_confirm": "short"})
    assert weak.status_code == 400 and "at least 10 characters" in weak.text

    ok = await browser.submit(path, path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert ok.status_code in (302, 303)


async def test_forgot_answers_the_same_for_an_unknown_address(browser, sessions, settings):
    await make_user(sessions, "ada@example.com")

    unknown = await browser.submit("/forgot", "/forgot", {"email": "nobody@example.com"})
    assert outbox(settings) == []
    known = await browser.submit("/forgot", "/forgot", {"email": "ada@example.com"})

    assert len(outbox(settings)) == 1
    assert unknown.status_code == known.status_code == 200
    assert unknown.text == known.text
    malformed = await browser.submit("/forgot", "/forgot", {"email": "not an address"})
    assert malformed.text == known.text


async def test_a_reset_token_expires_after_an_hour(sessions):
    await make_user(sessions, "ada@example.com")
    issued = utcnow() - timedelta(hours=2)
    async with sessions() as session, session.begin():
        _, late_token = await service.create_reset_token(session, "ada@example.com", now=issued)
        _, timely_token = await service.create_reset_token(session, "ada@example.com", now=issued)

    async with sessions() as session:
        with pytest.raises(service.AccountError, match="expired"):
            await service.reset_password(session, late_token, NEW_PASSWORD, now=issued + timedelta(minutes=61))
    async with sessions() as session, session.begin():
        await service.reset_password(session, timely_token, NEW_PASSWORD, now=issued + timedelta(minutes=59))
    async with sessions() as session, session.begin():
        assert await service.authenticate(session, "ada@example.com", NEW_PASSWORD) is not None


async def test_an_unknown_token_is_refused(browser, sessions):
    await make_user(sessions, "ada@example.com")
    response = await browser.submit("/reset/made-up-token", "/reset/made-up-token",
                                    {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert "invalid or has expired" in response.text
    assert (await browser.login("ada@example.com", PASSWORD)).status_code in (302, 303)


# ---- only the newest link works; a reset ends every session opened before it ----------------

async def forgot_link(browser, settings) -> str:
    before = len(outbox(settings))
    await browser.submit("/forgot", "/forgot", {"email": "ada@example.com"})
    messages = outbox(settings)
    assert len(messages) == before + 1
    return reset_path(messages[-1], settings)


async def reset_with(browser, path: str, password: str = NEW_PASSWORD):
    return await browser.submit(path, path, {"password": password, "password_confirm": password})


async def test_a_newer_link_retires_the_older_ones(browser, sessions, settings):
    await make_user(sessions, "ada@example.com")
    first = await forgot_link(browser, settings)
    second = await forgot_link(browser, settings)

    older = await reset_with(browser, first)
    assert older.status_code == 400 and "invalid or has expired" in older.text
    assert (await reset_with(browser, second)).status_code in (302, 303)
    assert (await browser.login("ada@example.com", NEW_PASSWORD)).status_code in (302, 303)


async def test_using_a_link_retires_every_other_one(sessions):
    """Two live links at once (issued around the same time): using one kills the other."""
    user, _ = await make_user(sessions, "ada@example.com")
    now = utcnow()
    async with sessions() as session, session.begin():
        tokens = [f"token-{n}-{user.id}" for n in (1, 2)]
        session.add_all([PasswordResetToken(user_id=user.id, token_hash=service._token_hash(t), created_at=now,
                                            expires_at=now + timedelta(hours=1)) for t in tokens])
    async with sessions() as session, session.begin():
        await service.reset_password(session, tokens[0], NEW_PASSWORD)
    async with sessions() as session:
        with pytest.raises(service.AccountError, match="invalid or has expired"):
            await service.reset_password(session, tokens[1], "the attacker's passphrase")
        assert await service.authenticate(session, "ada@example.com", NEW_PASSWORD) is not None


async def test_a_reset_ends_every_session_opened_before_it(app, new_browser, sessions, settings):
    """The other browser is logged out everywhere: pages, form posts, and the JSON API's plan
    checks (which read the session themselves)."""
    user, _ = await make_user(sessions, "ada@example.com", name="Ada")
    await grant(sessions, user.id, "pro")
    stolen, owner = new_browser(), new_browser("203.0.113.9")
    assert (await stolen.login("ada@example.com")).headers["location"] == "/console"
    old_history = f"/api/v1/history?gpu=h100&since={(utcnow() - timedelta(days=90)).date()}"
    assert (await stolen.get("/console")).status_code == 200
    assert (await stolen.get(old_history)).status_code == 200  # Pro: history beyond 30 days
    await stolen.get("/settings/profile")  # the form's CSRF token, kept for a post after the reset
    old_session = stolen.session_id

    assert (await reset_with(owner, await forgot_link(owner, settings))).status_code in (302, 303)

    page = await stolen.get("/console")
    assert page.status_code in (302, 303) and page.headers["location"].startswith("/login")
    assert stolen.session_id != old_session  # the stale session is deleted, cookie and stored data
    assert await app.stores.get("sessions").get(old_session) is None
    posted = await stolen.post("/settings/profile", {"name": "Mallory", "timezone": "UTC"})
    # Logged out: sent to log in, or refused outright because its form token belonged to the ended session.
    assert posted.status_code == 403 or (posted.status_code in (302, 303) and posted.headers["location"].startswith("/login"))
    assert (await stolen.get(old_history)).status_code == 403  # anonymous now: the public 30 days only
    assert (await stolen.get("/settings/security")).headers["location"].startswith("/login")
    async with sessions() as session:
        assert (await session.get(User, user.id)).name == "Ada"

    # Logging in again with the new password works: the new session carries the new epoch.
    assert (await owner.login("ada@example.com", NEW_PASSWORD)).headers["location"] == "/console"
    assert (await owner.get("/console")).status_code == 200
    assert (await owner.get(old_history)).status_code == 200


async def test_a_reset_also_ends_a_half_finished_two_factor_login(new_browser, sessions, settings):
    keyring = Keyring.from_spec(settings.security.master_keys)
    _, secret = await make_user(sessions, "ada@example.com", totp_keyring=keyring)
    attacker, owner = new_browser(), new_browser("203.0.113.9")
    assert (await attacker.login("ada@example.com")).headers["location"] == "/login/2fa"

    assert (await reset_with(owner, await forgot_link(owner, settings))).status_code in (302, 303)

    assert (await attacker.get("/login/2fa")).headers["location"] == "/login"
    step = await attacker.post("/login/2fa", {"code": totp.code_at(secret, time.time() + totp.STEP)})
    assert step.status_code == 403 or (step.status_code in (302, 303) and step.headers["location"] == "/login")
    assert (await attacker.get("/console")).headers["location"].startswith("/login")
