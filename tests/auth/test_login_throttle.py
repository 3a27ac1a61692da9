"""Login rate limiting: a small budget per (account, client address), a larger one per address.

Someone else's guesses never lock an owner out from their own address, mistyping one account's
password does not lock an address out of another account, and one address cannot try many
accounts. The settings fixture: 5 per (account, address), and here 12 per address.
"""

from __future__ import annotations

import re

from dataclasses import replace

import pytest

from tests.auth.support import PASSWORD, make_user

LIMIT = 5
ADDRESS_LIMIT = 12


@pytest.fixture
def window() -> int:
    return 300


@pytest.fixture
def settings(settings, window):
    return replace(settings, security=replace(settings.security, login_attempts_per_window=LIMIT,
                                              login_attempts_per_address=ADDRESS_LIMIT,
                                              login_window_seconds=window))


def assert_throttled(response) -> None:
    assert response.status_code == 429
    assert "Too many attempts. Try again in about 5 minutes." in response.text


def logged_in(response) -> bool:
    return response.status_code in (302, 303) and response.headers["location"] == "/console"


async def test_the_sixth_attempt_is_refused_even_with_the_right_password(browser, sessions):
    await make_user(sessions, "ada@example.com")
    for _ in range(LIMIT):
        assert (await browser.login("ada@example.com", "wrong password!")).status_code == 400

    sixth = await browser.login("ada@example.com", PASSWORD)

    assert_throttled(sixth)
    assert 'value="ada@example.com"' in sixth.text
    assert (await browser.get("/settings/security")).status_code in (302, 303)  # not logged in


async def test_bad_passwords_for_one_account_do_not_lock_the_address_out_of_another(browser, sessions):
    await make_user(sessions, "ada@example.com")
    await make_user(sessions, "bob@example.com")
    for _ in range(LIMIT):
        assert (await browser.login("ada@example.com", "wrong password!")).status_code == 400
    assert_throttled(await browser.login("ada@example.com", PASSWORD))

    assert logged_in(await browser.login("bob@example.com", PASSWORD))


async def test_an_attacker_elsewhere_cannot_lock_the_owner_out(new_browser, sessions):
    await make_user(sessions, "ada@example.com")
    attacker = new_browser("203.0.113.9")
    for _ in range(LIMIT * 2):
        assert (await attacker.login("ada@example.com", "wrong password!")).status_code in (400, 429)
    assert_throttled(await attacker.login("ada@example.com", PASSWORD))
    for i in range(LIMIT):  # and a crowd of other addresses
        assert (await new_browser(f"203.0.113.{i + 20}").login("ada@example.com", "wrong!!!")).status_code == 400

    assert logged_in(await new_browser("192.0.2.99").login("ADA@example.com", PASSWORD))


async def test_one_address_trying_many_accounts_is_stopped_by_the_address_budget(browser, sessions):
    await make_user(sessions, "victim@example.com")
    for i in range(ADDRESS_LIMIT - 1):
        assert (await browser.login(f"guess{i % 4}@example.com", "wrong password!")).status_code == 400
    assert logged_in(await browser.login("victim@example.com", PASSWORD))  # within the budget
    await browser.logout()

    assert (await browser.login("guess9@example.com", "wrong password!")).status_code == 400
    assert_throttled(await browser.login("victim@example.com", PASSWORD))


async def test_unknown_and_known_accounts_get_the_same_answers(browser, sessions):
    await make_user(sessions, "ada@example.com")
    answers = {}
    for email in ("ada@example.com", "nobody@example.com"):
        pages = [await browser.login(email, "wrong password!") for _ in range(LIMIT + 1)]
        # The form token is masked afresh in every response: compare the pages without it.
        answers[email] = [(page.status_code, re.sub(r'name="_csrf_token" value="[^"]*"', "TOKEN",
                                                    page.text.replace(email, "EMAIL"))) for page in pages]
    assert answers["ada@example.com"] == answers["nobody@example.com"]
    assert [status for status, _ in answers["ada@example.com"]] == [400] * LIMIT + [429]


async def test_logging_in_to_an_own_account_does_not_reset_the_count_for_another(browser, sessions):
    """Else an attacker would log in to their own account between guesses and never be stopped."""
    await make_user(sessions, "attacker@example.com")
    await make_user(sessions, "victim@example.com")
    for i in range(LIMIT - 1):
        assert (await browser.login("victim@example.com", f"guess {i} here")).status_code == 400
    assert logged_in(await browser.login("attacker@example.com", PASSWORD))
    await browser.logout()

    assert (await browser.login("victim@example.com", "guess 4 here")).status_code == 400
    assert_throttled(await browser.login("victim@example.com", "guess 5 here"))


async def test_a_successful_login_clears_the_accounts_count_for_that_address(browser, sessions):
    await make_user(sessions, "ada@example.com")
    for _ in range(2):
        for _ in range(LIMIT - 1):
            assert (await browser.login("ada@example.com", "typo typo typo")).status_code == 400
        assert logged_in(await browser.login("ada@example.com"))
        await browser.logout()


async def test_an_ipv6_client_is_counted_by_its_64_prefix(new_browser, sessions):
    """Within one /64 an attacker has 2^64 addresses: rotating them buys nothing."""
    await make_user(sessions, "ada@example.com")
    for i in range(LIMIT):
        rotating = new_browser(f"2001:db8:1:2::{i + 1:x}")
        assert (await rotating.login("ada@example.com", "wrong password!")).status_code == 400
    assert_throttled(await new_browser("2001:db8:1:2:ffff::1").login("ada@example.com", PASSWORD))
    assert logged_in(await new_browser("2001:db8:1:3::1").login("ada@example.com", PASSWORD))


async def lock_out(browser, email: str) -> None:
    for _ in range(LIMIT):
        assert (await browser.login(email, "wrong password!")).status_code == 400


@pytest.mark.parametrize("window", [250])  # 4 min 10 s: the wait is rounded up, not to the nearest
async def test_the_lock_out_message_rounds_the_remaining_time_up(browser, sessions, window):
    await make_user(sessions, "ada@example.com")
    await lock_out(browser, "ada@example.com")
    refused = await browser.login("ada@example.com", PASSWORD)
    assert refused.status_code == 429 and "Try again in about 5 minutes." in refused.text


async def test_the_second_step_lock_out_says_how_long(browser, sessions, settings):
    from app.auth import totp
    from app.security.keyring import keyring_from_settings

    _, secret = await make_user(sessions, "ada@example.com", totp_keyring=keyring_from_settings(settings))
    assert (await browser.login("ada@example.com")).headers["location"] == "/login/2fa"
    wrong = "000000" if totp.code_at(secret) != "000000" else "111111"
    for _ in range(LIMIT):
        assert (await browser.submit("/login/2fa", "/login/2fa", {"code": wrong})).status_code == 400
    assert_throttled(await browser.submit("/login/2fa", "/login/2fa", {"code": totp.code_at(secret)}))
