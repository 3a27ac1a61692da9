"""Workspace tests reuse the console's world: the real app on each test database, the sandbox cloud."""

from tests.console.conftest import (  # noqa: F401 - fixtures
    app, clock, cloud, http, keyring, login, settings,
)
from tests.auth.support import fast_password_hashing  # noqa: F401 - autouse: cheap argon2 in tests
