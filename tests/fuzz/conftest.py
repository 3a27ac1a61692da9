"""Fuzz and schemathesis runs reuse the console's real app, sandbox cloud and logged-in clients."""

from tests.console.conftest import (  # noqa: F401 - fixtures
    alice,
    app,
    as_alice,
    clock,
    cloud,
    fast_password_hashing,
    http,
    keyring,
    login,
    settings,
)
