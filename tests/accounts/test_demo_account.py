"""The shared demo account of local runs: nobody may change its password or address, or delete it."""

from __future__ import annotations

import dataclasses

import pytest

from tests.accounts.support import outbox, stored_user, user_by_email


@pytest.fixture
def settings(settings):
    """The shared demo account of local runs, created at start-up."""
    return dataclasses.replace(settings, sandbox=dataclasses.replace(settings.sandbox, demo_account=True))


async def test_the_demo_account_cannot_change_its_password_or_address_or_be_deleted(browser, sessions, settings):
    demo = settings.sandbox
    user = await user_by_email(sessions, demo.demo_email)
    assert (await browser.login(demo.demo_email, demo.demo_password)).status_code in (302, 303)
    page = await browser.get("/settings/account")
    assert "shared demo account" in page.text and 'name="current_password"' not in page.text

    for action, form in [
        ("/settings/account/password", {"current_password": demo.demo_password, "password": "x" * 12,
                                        "password_confirm": "x" * 12}),
        ("/settings/account/email", {"new_email": "mine@example.com", "current_password": demo.demo_password}),
        ("/settings/account/delete", {"password": demo.demo_password, "confirmation": "DELETE"}),
    ]:
        refused = await browser.post(action, form)
        assert refused.status_code == 400 and "shared demo account" in refused.text, action
    after = await stored_user(sessions, user.id)
    assert (after.email, after.password_hash, after.deleted_at) == (user.email, user.password_hash, None)
    assert outbox(settings) == []
