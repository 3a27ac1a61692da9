"""``/settings/account/password``: the current password first; this session stays, every other ends."""

from __future__ import annotations

import time

import pytest

from app.auth import passwords, totp
from app.security.keyring import Keyring
from tests.accounts.support import stored_user
from tests.auth.support import PASSWORD, make_user

NEW = "a much better passphrase"
PAGE, ACTION = "/settings/account", "/settings/account/password"


def change(current: str = PASSWORD, new: str = NEW, repeat: str | None = None) -> dict[str, str]:
    return {"current_password": current, "password": new, "password_confirm": new if repeat is None else repeat}


async def test_change_keeps_this_session_and_ends_every_other(new_browser, sessions, app):
    user, _ = await make_user(sessions, "ada@example.com")
    here, elsewhere = new_browser(), new_browser("203.0.113.9")
    await here.login("ada@example.com")
    await elsewhere.login("ada@example.com")
    await elsewhere.get("/settings/profile")  # holds a form token for a post later
    before = here.session_id

    done = await here.submit(PAGE, ACTION, change())

    assert done.status_code in (302, 303) and done.headers["location"] == f"{PAGE}?done=password"
    assert here.session_id != before  # re-issued under a new id
    assert await app.stores.get("sessions").get(before) is None
    shown = await here.get(done.headers["location"])
    assert shown.status_code == 200 and "Your password was changed." in shown.text
    assert (await here.get("/console")).status_code == 200
    assert (await here.get("/settings/profile")).status_code == 200

    assert (await elsewhere.get("/console")).headers["location"].startswith("/login")
    posted = await elsewhere.post("/settings/profile", {"name": "Mallory", "timezone": "UTC"})
    # Logged out: sent to log in, or refused outright because its form token belonged to the ended session.
    assert posted.status_code == 403 or posted.headers["location"].startswith("/login")
    assert (await stored_user(sessions, user.id)).name == "Ada"

    assert (await elsewhere.login("ada@example.com", PASSWORD)).status_code == 400
    assert (await elsewhere.login("ada@example.com", NEW)).headers["location"] == "/console"


@pytest.mark.parametrize("form, message", [
    (change(current="not my password"), "your current password is not right"),
    (change(current=""), "your current password is not right"),
    (change(new="short", repeat="short"), "at least 10 characters"),
    (change(new="x" * 257, repeat="x" * 257), "at most 256 characters"),
    (change(repeat="a different passphrase"), "the two new passwords differ"),
])
async def test_bad_input_is_refused_and_nothing_changes(new_browser, sessions, form, message):
    user, _ = await make_user(sessions, "ada@example.com")
    here, elsewhere = new_browser(), new_browser("203.0.113.9")
    await here.login("ada@example.com")
    await elsewhere.login("ada@example.com")
    hash_before = (await stored_user(sessions, user.id)).password_hash

    refused = await here.submit(PAGE, ACTION, form)

    assert refused.status_code == 400 and message in refused.text
    after = await stored_user(sessions, user.id)
    assert after.password_hash == hash_before and after.session_epoch == 0
    assert (await here.get("/console")).status_code == 200
    assert (await elsewhere.get("/console")).status_code == 200


async def test_a_two_factor_account_needs_only_its_password(new_browser, sessions, settings):
    keyring = Keyring.from_spec(settings.security.master_keys)
    user, secret = await make_user(sessions, "ada@example.com", totp_keyring=keyring)
    here = new_browser()
    await here.login("ada@example.com")
    # The next time step's code: the enrolment used the current one (a replay would be refused).
    await here.submit("/login/2fa", "/login/2fa", {"code": totp.code_at(secret, time.time() + totp.STEP)})
    assert (await here.get("/console")).status_code == 200

    assert (await here.submit(PAGE, ACTION, change())).status_code in (302, 303)
    assert passwords.verify_password((await stored_user(sessions, user.id)).password_hash, NEW)
    assert (await here.get("/console")).status_code == 200
