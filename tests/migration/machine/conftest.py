"""Migrations on the job queue: the real services, jobs and app on each test database, against a
sandbox cloud whose boots, stops and deletes are instant (timings scaled to 0), with a simulated
file system under the test's own directory."""

from __future__ import annotations

import pytest

from app.jobs.registry import job_app
from app.security.keyring import Keyring
from app.settings import PollingSettings, SandboxSettings, SecuritySettings, Settings
from providers.sandbox import SandboxCloud, Timings
from providers.sandbox import cloud as sandbox_cloud
from tests.auth.support import fast_password_hashing  # noqa: F401 - autouse: cheap argon2 in tests
from tests.console.conftest import MASTER_KEYS, clock, http  # noqa: F401 - the console's fixtures
from tests.migration.conftest import require_tool
from tests.support.jobs import queue_for


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        polling=PollingSettings(enabled=False, load_snapshot=False),
        security=SecuritySettings(master_keys=MASTER_KEYS, var_dir=tmp_path / "var"),
        sandbox=SandboxSettings(enabled=True, demo_account=False, data_dir=tmp_path / "sandbox"),
    )


@pytest.fixture
def keyring(settings) -> Keyring:
    return Keyring.from_spec(settings.security.master_keys)


@pytest.fixture
def cloud(clock, monkeypatch) -> SandboxCloud:
    require_tool("rclone")
    cloud = SandboxCloud(clock=clock, timings=Timings().scaled(0))
    monkeypatch.setattr(sandbox_cloud, "_default_cloud", cloud)
    return cloud


@pytest.fixture
async def queue(database_url):
    """The real job app on the test database's queue (in memory for SQLite)."""
    with queue_for(database_url) as connector:
        async with job_app.open_async():
            yield connector
