from __future__ import annotations

import pytest

from tests.auth.support import app, browser, fast_password_hashing, make_user, new_browser, settings  # noqa: F401
from tests.billing.support import grant
from tests.bindings.helpers import LoggedIn


@pytest.fixture
async def ada(new_browser, sessions) -> LoggedIn:
    """A logged-in user with a browser."""
    user, _ = await make_user(sessions, "ada@example.com", name="Ada")
    await grant(sessions, user.id, "pro")  # several keys: more than Basic's one binding
    b = new_browser("198.51.100.7")
    assert (await b.login("ada@example.com")).status_code in (302, 303)
    return LoggedIn(user.id, b)


@pytest.fixture
async def bob(new_browser, sessions) -> LoggedIn:
    user, _ = await make_user(sessions, "bob@example.com", name="Bob")
    await grant(sessions, user.id, "pro")  # several keys: more than Basic's one binding
    b = new_browser("198.51.100.8")
    assert (await b.login("bob@example.com")).status_code in (302, 303)
    return LoggedIn(user.id, b)
