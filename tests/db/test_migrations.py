"""The schema comes only from Alembic: upgrade, check against the models, downgrade, upgrade again."""

from __future__ import annotations

import psycopg
from sqlalchemy import create_engine, inspect

from app.db.base import Base
from providers.sandbox import tables as sandbox_tables
from app.db.engine import sync_url
from app.db.migrate import check, downgrade, upgrade
from tests.conftest import pg_dsn
from tests.support.migration_db import empty_database

MIGRATION_DB = "computehub_migrations_test"


fresh_url = empty_database(MIGRATION_DB)


JOB_QUEUE_TABLES = {"procrastinate_jobs", "procrastinate_workers", "procrastinate_events", "procrastinate_periodic_defers"}


def every_table() -> set[str]:
    """The app's models and the sandbox provider's own tables."""
    import app.db.models  # noqa: F401  (registers every table on Base.metadata)

    return set(Base.metadata.tables) | set(sandbox_tables.metadata.tables)


def all_tables(url: str) -> set[str]:
    engine = create_engine(sync_url(url))
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def tables(url: str) -> set[str]:
    """The app's own tables (the job queue's are procrastinate's, checked apart)."""
    return all_tables(url) - JOB_QUEUE_TABLES


def job_queue_objects(url: str) -> int:
    """procrastinate's functions and types left in the database (PostgreSQL only)."""
    with psycopg.connect(pg_dsn(url), autocommit=True) as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM pg_proc WHERE proname LIKE 'procrastinate%')"
            " + (SELECT count(*) FROM pg_type WHERE typname LIKE 'procrastinate%' AND typtype IN ('e', 'c'))"
        ).fetchone()[0]


def test_upgrade_check_downgrade_roundtrip(fresh_url):
    upgrade(fresh_url, "head")
    assert tables(fresh_url) == every_table()
    postgres = fresh_url.startswith("postgresql")
    # The job queue is in PostgreSQL in production; the embedded SQLite default keeps it in memory.
    assert (all_tables(fresh_url) & JOB_QUEUE_TABLES) == (JOB_QUEUE_TABLES if postgres else set())
    check(fresh_url)  # raises if models and migrations disagree
    downgrade(fresh_url, "base")
    assert all_tables(fresh_url) == set()
    if postgres:
        assert job_queue_objects(fresh_url) == 0
    upgrade(fresh_url, "head")
    assert tables(fresh_url) == every_table()


def test_upgrade_is_idempotent(fresh_url):
    upgrade(fresh_url, "head")
    upgrade(fresh_url, "head")
    assert tables(fresh_url) == every_table()
