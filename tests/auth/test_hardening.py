"""Failure paths that must not leak or crash: a lost TOTP key, a mail outage, the shared demo login."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.security.keyring import Keyring, generate_key_spec
from app.settings import MailSettings
from tests.auth.support import PASSWORD, make_user


async def test_totp_secret_that_no_longer_decrypts_refuses_the_code_without_crashing(browser, sessions):
    other_ring = Keyring.from_spec(generate_key_spec("gone"))  # a key the app does not have
    await make_user(sessions, "lost@x.test", totp_keyring=other_ring)
    assert (await browser.login("lost@x.test")).headers["location"] == "/login/2fa"
    answer = await browser.submit("/login/2fa", "/login/2fa", {"code": "123456"})
    assert answer.status_code == 400
    assert "That code is not right" in answer.text


@pytest.fixture
def settings(settings, tmp_path):
    # An SMTP server that does not exist: every send fails.
    return replace(settings, mail=MailSettings(backend="smtp", smtp_host="127.0.0.1", smtp_port=9,
                                               smtp_starttls=False, outbox_dir=tmp_path / "outbox"))


async def test_a_mail_outage_does_not_reveal_which_addresses_have_accounts(browser, sessions):
    await make_user(sessions, "real@x.test")
    known = await browser.submit("/forgot", "/forgot", {"email": "real@x.test"})
    unknown = await browser.submit("/forgot", "/forgot", {"email": "nobody@x.test"})
    assert known.status_code == unknown.status_code == 200
    assert "If an account exists for that address" in known.text
    assert known.text.replace("real@x.test", "") == unknown.text.replace("nobody@x.test", "")


async def test_the_shared_demo_account_cannot_lock_others_out_with_two_factor(app, browser, sessions, settings):
    demo = app.state.settings.sandbox
    app.state.settings = replace(app.state.settings, sandbox=replace(demo, demo_account=True,
                                                                     demo_email="demo@x.test"))
    await make_user(sessions, "demo@x.test")
    await browser.login("demo@x.test", PASSWORD)
    answer = await browser.submit("/settings/security", "/settings/security/totp/begin")
    assert answer.status_code == 400
    assert "shared demo account cannot turn on two-factor" in answer.text
