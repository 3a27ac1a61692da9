"""A fresh simulated cloud per test, on a clock that only moves when the test says so."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine

from app.db.engine import sync_url
from app.db.migrate import upgrade
from tests.conftest import PG_URL, private_pg_database, require_postgres

from providers.base import Instance, LaunchRequest
from providers.sandbox import SandboxCloud, SandboxProvider, generate_api_key
from providers.sandbox.clock import ManualClock
from providers.sandbox.store import DatabaseStore, MemoryStore


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


_MIGRATED: dict[str, str] = {}


def _sandbox_database(kind: str, tmp_path_factory) -> str:
    """A migrated database of its own for the sandbox store tests, made once per run."""
    if kind not in _MIGRATED:
        if kind == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sandbox-db') / 'sandbox.sqlite3'}"
        else:
            require_postgres()
            url = private_pg_database(PG_URL, f"computehub_sandbox_{os.getpid()}")
        upgrade(url, "head")
        _MIGRATED[kind] = url
    return _MIGRATED[kind]


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request, tmp_path_factory):
    """Every sandbox test runs on every store: in memory, and the sandbox's own tables on SQLite
    and PostgreSQL (what ``make run`` and production use, so restarts and other processes see them)."""
    if request.param == "memory":
        yield MemoryStore()
        return
    engine = create_engine(sync_url(_sandbox_database(request.param, tmp_path_factory)))
    yield DatabaseStore(engine)
    engine.dispose()


@pytest.fixture
def cloud(clock, store) -> SandboxCloud:
    return SandboxCloud(clock=clock, store=store)


@pytest.fixture
def api_key() -> str:
    return generate_api_key()


@pytest.fixture
def provider(cloud, api_key) -> SandboxProvider:
    return SandboxProvider.on_cloud(cloud, api_key)


@pytest.fixture
def launch(provider):
    """``await launch(spot=True, ...)``: create an instance (an H100 in sandbox-eu-1 by default)."""

    async def launch(**overrides) -> Instance:
        fields = {"name": "train-1", "instance_type": "sbx.h100.1x", "region": "sandbox-eu-1", **overrides}
        return await provider.create_instance(LaunchRequest(**fields))

    return launch
