"""Workspace tests reuse the console's world: the real app on each test database, the sandbox cloud;
mail (invitations) goes to an outbox folder of the test's own."""

import pytest

from app.settings import MailSettings, PollingSettings, SandboxSettings, SecuritySettings, Settings
from tests.console.conftest import (  # noqa: F401 - fixtures
    MASTER_KEYS, app, clock, cloud, http, keyring, login,
)
from tests.auth.support import fast_password_hashing  # noqa: F401 - autouse: cheap argon2 in tests


@pytest.fixture
def settings(tmp_path) -> Settings:
    """The console tests' settings, with the outbox in the test's folder."""
    return Settings(polling=PollingSettings(enabled=False, load_snapshot=False),
                    security=SecuritySettings(master_keys=MASTER_KEYS, var_dir=tmp_path / "var"),
                    sandbox=SandboxSettings(enabled=True, demo_account=False),
                    mail=MailSettings(backend="outbox", outbox_dir=tmp_path / "outbox"))
