"""The cost pages under a frozen clock: the real app on each test database, users logged in
through the real login form, costs written by the real accrual job."""

from __future__ import annotations

from datetime import datetime

import pytest

from app.costs import pages as cost_pages
from app.security.keyring import Keyring, generate_key_spec
from app.server import create_app
from app.settings import PollingSettings, SandboxSettings, SecuritySettings, Settings
from tests.auth.support import fast_password_hashing  # noqa: F401 - autouse: cheap argon2 in tests
from tests.console.conftest import login  # noqa: F401 - the shared logged-in client fixture

MASTER_KEYS = generate_key_spec("costs1")


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        polling=PollingSettings(enabled=False, load_snapshot=False),
        security=SecuritySettings(master_keys=MASTER_KEYS, var_dir=tmp_path / "var"),
        sandbox=SandboxSettings(enabled=True, demo_account=False),
    )


@pytest.fixture
def keyring(settings) -> Keyring:
    return Keyring.from_spec(settings.security.master_keys)


@pytest.fixture
def app(engine, sessions, settings):
    return create_app(settings, engine=engine, run_worker=False)


@pytest.fixture
def freeze(monkeypatch):
    """Freeze the pages' clock at the given aware UTC time."""
    def set_now(now: datetime) -> datetime:
        monkeypatch.setattr(cost_pages, "utcnow", lambda: now)
        return now
    return set_now

