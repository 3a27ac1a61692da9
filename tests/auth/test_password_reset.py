"""Password reset by e-mailed link: end to end through the outbox, single use, one hour."""

from __future__ import annotations

import email
import re
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest

from app.auth import service
from app.db.types import utcnow
from tests.auth.support import PASSWORD, make_user

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
