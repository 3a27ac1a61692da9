"""Real processes on a private PostgreSQL database (and Redis), killed with SIGKILL."""

from __future__ import annotations

import os

import pytest

from app.db.engine import make_engine, session_factory
from app.db.migrate import upgrade
from app.security.keyring import Keyring
from tests.conftest import PG_URL, drop_pg_database, private_pg_database, require_postgres, require_redis
from tests.support.live import MASTER_KEYS, Stack
from tests.auth.support import fast_password_hashing  # noqa: F401 - autouse: cheap argon2 in tests



@pytest.fixture
def live_database_url(request):
    require_postgres()
    name = f"computehub_live_{os.getpid()}"
    url = private_pg_database(PG_URL, name)
    upgrade(url, "head")
    yield url
    drop_pg_database(PG_URL, name)


@pytest.fixture
async def live_sessions(live_database_url):
    engine = make_engine(live_database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
def live_keyring() -> Keyring:
    return Keyring.from_spec(MASTER_KEYS)


@pytest.fixture
def stack(live_database_url, tmp_path):
    stack = Stack(live_database_url, tmp_path / "var")
    yield stack
    stack.stop()
