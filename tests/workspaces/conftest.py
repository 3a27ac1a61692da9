"""Workspace tests reuse the console's world: the real app on each test database, the sandbox cloud."""

from tests.console.conftest import (  # noqa: F401 - fixtures
    app, clock, cloud, http, keyring, login, settings,
)
