"""The benchmark database: its own PostgreSQL database, rebuilt from the migrations each run."""

from __future__ import annotations

import os

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from app.db.migrate import upgrade

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_DB = "computehub_bench"


def bench_url(database: str = BENCH_DB) -> str:
    """COMPUTEHUB_TEST_DATABASE_URL's server, database ``computehub_bench`` (or a benchmark's own)."""
    base = make_url(os.environ.get("COMPUTEHUB_TEST_DATABASE_URL", DEFAULT_PG_URL))
    return base.set(database=database).render_as_string(hide_password=False)


def dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def prepare(url: str) -> None:
    """Create the database if missing, drop everything in it, migrate to head."""
    target = make_url(url)
    admin = target.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(dsn(admin), autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (target.database,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.database)))
    with psycopg.connect(dsn(url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
    upgrade(url, "head")


def analyze(url: str) -> None:
    """What autovacuum would do after a bulk load, so the planner sees the real table sizes."""
    with psycopg.connect(dsn(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
