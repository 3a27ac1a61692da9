"""Migration 0020 adds the migration tables and removes them again, on SQLite and PostgreSQL: a
migration row with its steps goes in, one live migration per source instance is enforced by the
database, and a downgrade leaves the schema as 0016 made it."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, insert, inspect
from sqlalchemy.exc import IntegrityError

import app.db.models  # noqa: F401 - every table on Base.metadata
from app.db.base import Base
from app.db.engine import sync_url
from app.db.migrate import downgrade, upgrade
from tests.support.migration_db import empty_database

DB = "mig_migration_0020_test"
T0 = datetime(2026, 12, 4, 1, 0, tzinfo=timezone.utc)
TABLES = {"migrations", "migration_steps", "workspace_ssh_keys", "migration_buckets"}


url = empty_database(DB)


def _migration(n: int, active_source_id: int | None) -> dict:
    return dict(id=n, workspace_id=1, user_id=1, source_instance_id=None, active_source_id=active_source_id,
                source_was_running=True, target_binding_id=None, target_provider="sandbox",
                target_instance_type="sbx.rtx4090.1x", target_region="sandbox-us-1", target_client_token=f"t{n}",
                state="planned", created_at=T0, updated_at=T0)


def test_the_tables_come_and_go(url):
    upgrade(url, "0016")
    engine = create_engine(sync_url(url))
    t = Base.metadata.tables
    try:
        assert not TABLES & set(inspect(engine).get_table_names())
        upgrade(url, "0020")
        assert TABLES <= set(inspect(engine).get_table_names())
        with engine.begin() as conn:
            conn.execute(insert(t["users"]).values(id=1, email="ada@example.com", name="Ada", password_hash="x",
                                                   is_admin=False, totp_enabled=False, timezone="UTC",
                                                   created_at=T0, session_epoch=0))
            conn.execute(insert(t["workspaces"]).values(id=1, kind="personal", name="Ada", personal_user_id=1,
                                                        created_at=T0))
            conn.execute(insert(t["migrations"]).values(**_migration(1, 42)))
            conn.execute(insert(t["migrations"]).values(**_migration(2, None)))  # finished ones hold no claim
            conn.execute(insert(t["migrations"]).values(**_migration(3, None)))
            conn.execute(insert(t["migration_steps"]).values(migration_id=1, state="planned", attempt=1,
                                                             started_at=T0, outcome="ok", log="moving"))
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert(t["migrations"]).values(**_migration(4, 42)))  # a second live one of instance 42

        downgrade(url, "0016")
        assert not TABLES & set(inspect(engine).get_table_names())
        upgrade(url, "head")
    finally:
        engine.dispose()
