"""The account pages: the real app on each test database, browsers that log in through the login
form, mail read from the outbox folder."""

from tests.auth.support import app, browser, fast_password_hashing, new_browser, settings  # noqa: F401  (fixtures)
