"""Test databases: every DB test runs on SQLite and on real PostgreSQL.

The schema comes from the Alembic migrations, once per engine per session; every test
starts with empty tables. With CI=true a missing PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import os

os.environ.setdefault("COMPUTEHUB_POLLING", "false")
os.environ.setdefault("COMPUTEHUB_LOAD_SNAPSHOT", "false")
os.environ.setdefault("COMPUTEHUB_SANDBOX_STORE", "memory")  # tests that persist it pass their own store
os.environ.setdefault("COMPUTEHUB_DEMO_ACCOUNT", "false")  # tests that want it turn it on in their settings

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.base import Base
from app.db.engine import make_engine, session_factory
from app.db.migrate import upgrade


def pytest_configure(config):
    config.addinivalue_line("markers", "chaos: real app processes SIGKILLed at random moments (tests/chaos; "
                                       "select with -m chaos)")


PG_URL = os.environ.get("COMPUTEHUB_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
REDIS_URL = os.environ.get("COMPUTEHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def pg_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def require_postgres(url: str = PG_URL) -> None:
    try:
        with psycopg.connect(pg_dsn(url), connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL is not reachable at {url}: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def require_redis(url: str = REDIS_URL) -> None:
    """Redis answers, else the test fails under CI and is skipped elsewhere (like PostgreSQL)."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        message = f"Redis is not reachable at {url}: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def private_pg_database(base_url: str, name: str) -> str:
    """A fresh database next to the configured one, so parallel test runs never share tables."""
    with psycopg.connect(pg_dsn(base_url), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return base_url.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(base_url: str, name: str) -> None:
    with psycopg.connect(pg_dsn(base_url), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory) -> str:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        upgrade(url, "head")
        yield url
        return
    require_postgres()
    name = f"computehub_test_{os.getpid()}"
    url = private_pg_database(PG_URL, name)
    upgrade(url, "head")
    yield url
    drop_pg_database(PG_URL, name)


@pytest.fixture(scope="session")
async def engine(database_url) -> AsyncEngine:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


# Reference data the migrations seed (the plans): kept, as a fresh database would have it.
SEEDED_TABLES = {"plans"}


async def truncate_all(engine: AsyncEngine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name not in SEEDED_TABLES]
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
async def sessions(engine):
    await truncate_all(engine)
    yield session_factory(engine)
    await truncate_all(engine)


@pytest.fixture(autouse=True)
def no_state_change_subscriber_left_behind(request):
    """State-change subscribers are process-wide. A test runs with none but its own: the session's
    live server (browser tests) subscribes for its whole life and is set aside for every test that
    does not use it. A test that starts an app (or a worker) must stop it: a subscriber it leaves
    connected would queue notifications in every later test, so it is removed and the test fails."""
    from app.console import signals

    uses_live_server = "live_server" in request.fixturenames
    set_aside = [] if uses_live_server else list(signals._subscriptions)
    for subscription in set_aside:
        signals.disconnect(subscription)
    before = list(signals._subscriptions)
    yield
    leaked = [s for s in signals._subscriptions if s not in before]
    for subscription in leaked:
        signals.disconnect(subscription)
    signals._subscriptions.extend(set_aside)
    assert not leaked, f"left {len(leaked)} state-change subscriber(s) connected"
