"""Login rate limiting: 5 failures per window, per client address and per e-mail address."""

from __future__ import annotations

from tests.auth.support import PASSWORD, make_user

LIMIT = 5  # settings fixture: login_attempts_per_window


def assert_throttled(response) -> None:
    assert response.status_code == 429
    assert "Too many attempts. Try again in about 5 minutes." in response.text


async def test_the_sixth_attempt_is_refused_even_with_the_right_password(browser, sessions):
    await make_user(sessions, "ada@example.com")
    for _ in range(LIMIT):
        assert (await browser.login("ada@example.com", "wrong password!")).status_code == 400

    sixth = await browser.login("ada@example.com", PASSWORD)

    assert_throttled(sixth)
    assert 'value="ada@example.com"' in sixth.text
    assert (await browser.get("/settings/security")).status_code in (302, 303)  # not logged in


async def test_one_client_trying_many_addresses_is_refused(browser, sessions):
    await make_user(sessions, "victim@example.com")
    for i in range(LIMIT):
        assert (await browser.login(f"guess{i}@example.com", "wrong password!")).status_code == 400

    assert_throttled(await browser.login("victim@example.com", PASSWORD))


async def test_many_clients_trying_one_address_are_refused(new_browser, sessions):
    await make_user(sessions, "ada@example.com")
    await make_user(sessions, "bob@example.com")
    for i in range(LIMIT):
        attacker = new_browser(f"203.0.113.{i + 1}")
        assert (await attacker.login("ada@example.com", "wrong password!")).status_code == 400

    fresh_client = new_browser("192.0.2.99")
    assert_throttled(await fresh_client.login("ADA@example.com", PASSWORD))
    # Only that address is locked: the same client can still log in to another account.
    assert (await fresh_client.login("bob@example.com", PASSWORD)).headers["location"] == "/console"


async def test_logging_in_to_an_own_account_does_not_reset_the_clients_count(browser, sessions):
    """Else an attacker would log in to their own account between guesses and never be stopped."""
    await make_user(sessions, "attacker@example.com")
    await make_user(sessions, "victim@example.com")
    for i in range(LIMIT - 1):
        assert (await browser.login("victim@example.com", f"guess {i} here")).status_code == 400
    assert (await browser.login("attacker@example.com", PASSWORD)).status_code in (302, 303)
    await browser.logout()

    assert (await browser.login("victim@example.com", "guess 4 here")).status_code == 400
    assert_throttled(await browser.login("victim@example.com", "guess 5 here"))


async def test_a_successful_login_clears_the_accounts_own_count(new_browser, sessions):
    await make_user(sessions, "ada@example.com")
    for i in range(LIMIT - 1):
        assert (await new_browser(f"203.0.113.{i + 1}").login("ada@example.com", "typo typo typo")).status_code == 400
    assert (await new_browser("192.0.2.1").login("ada@example.com")).status_code in (302, 303)

    # A full new allowance for the address (from clients that have not failed before).
    for i in range(LIMIT - 1):
        assert (await new_browser(f"203.0.113.{i + 50}").login("ada@example.com", "typo typo typo")).status_code == 400
    assert (await new_browser("192.0.2.2").login("ada@example.com")).status_code in (302, 303)
