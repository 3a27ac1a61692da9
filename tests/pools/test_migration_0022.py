"""Migration 0022 adds the node pool tables and removes them again, on SQLite and PostgreSQL: a pool
with a node, an event and a block goes in, a pool name is unique per workspace, and a downgrade
leaves the schema as 0021 made it."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, insert, inspect
from sqlalchemy.exc import IntegrityError

import app.db.models  # noqa: F401 - every table on Base.metadata
from app.db.base import Base
from app.db.engine import sync_url
from app.db.migrate import check, downgrade, upgrade
from tests.support.migration_db import empty_database

T0 = datetime(2026, 12, 4, 1, 0, tzinfo=timezone.utc)
TABLES = {"node_pools", "node_pool_nodes", "node_pool_events", "node_pool_blocks"}

url = empty_database("mig_node_pools_0022_test")


def _pool(n: int, name: str) -> dict:
    return dict(id=n, workspace_id=1, project_id=None, user_id=1, name=name, gpu="h100", gpus_per_node=1,
                min_nodes=0, target_nodes=4, max_nodes=6, max_price_per_gpu_hour=Decimal("2.50"),
                spot_policy="auto", allowed_providers="[]", allowed_regions="[]", image="", startup_script="",
                state="active", created_at=T0, updated_at=T0)


def test_the_tables_come_and_go(url):
    upgrade(url, "0021")
    engine = create_engine(sync_url(url))
    t = Base.metadata.tables
    try:
        assert not TABLES & set(inspect(engine).get_table_names())
        upgrade(url, "0022")
        assert TABLES <= set(inspect(engine).get_table_names())
        with engine.begin() as conn:
            conn.execute(insert(t["users"]).values(id=1, email="ada@example.com", name="Ada", password_hash="x",
                                                   is_admin=False, totp_enabled=False, timezone="UTC",
                                                   created_at=T0, session_epoch=0))
            conn.execute(insert(t["workspaces"]).values(id=1, kind="organization", name="Acme", created_at=T0))
            conn.execute(insert(t["node_pools"]).values(**_pool(1, "trainers")))
            conn.execute(insert(t["node_pool_nodes"]).values(pool_id=1, instance_id=None, state="active",
                                                             price_per_gpu_hour=Decimal("2.49"), created_at=T0))
            conn.execute(insert(t["node_pool_events"]).values(pool_id=1, at=T0, kind="created", message="made"))
            conn.execute(insert(t["node_pool_blocks"]).values(workspace_id=1, provider="sandbox",
                                                              region="sandbox-eu-1", until=T0, reason="capacity"))
            price = conn.execute(t["node_pools"].select()).one().max_price_per_gpu_hour
            assert price == Decimal("2.50")
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert(t["node_pools"]).values(**_pool(2, "trainers")))  # same name, same workspace

        downgrade(url, "0021")
        assert not TABLES & set(inspect(engine).get_table_names())
        upgrade(url, "head")
        check(url)  # the models and the migrations agree (at head: later migrations change other tables)
    finally:
        engine.dispose()
