"""Migration 0018 on a database with an organization's data: every existing key, instance,
template and cost record stays, unassigned (nobody is limited); a project and its members can be
stored; downgrade drops them and the column, leaving the rows as they were. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, insert, inspect, text

import app.db.models  # noqa: F401 - every table on Base.metadata
from app.db.base import Base
from app.db.engine import sync_url
from app.db.migrate import downgrade, upgrade
from tests.support.migration_db import empty_database

DB = "proj_migration_0018_test"
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
ASSIGNED = ("provider_bindings", "instances", "deployment_templates", "cost_records")


url = empty_database(DB)


def seed_organization(engine) -> None:
    """A user owning an organization with a key, an instance, a template and a cost record (the
    columns that exist at 0016 only)."""
    t = Base.metadata.tables
    with engine.begin() as conn:
        conn.execute(insert(t["users"]).values(
            id=1, email="ada@example.com", name="Ada", password_hash="x", is_admin=False, totp_enabled=False,
            timezone="UTC", created_at=T0, session_epoch=0))
        conn.execute(insert(t["workspaces"]).values(id=7, kind="organization", name="Acme", created_at=T0))
        conn.execute(insert(t["workspace_members"]).values(workspace_id=7, user_id=1, role="owner", created_at=T0))
        conn.execute(insert(t["provider_bindings"]).values(
            id=11, workspace_id=7, user_id=1, provider="sandbox", label="Org key", key_hint="abcd",
            key_ciphertext="v1:x:y", status="verified", created_at=T0))
        conn.execute(insert(t["deployment_templates"]).values(
            id=21, workspace_id=7, user_id=1, name="train", provider="sandbox", instance_type="sbx.h100.1x",
            region="sandbox-eu-1", image="", ssh_public_key="", spot=False, created_at=T0))
        conn.execute(insert(t["instances"]).values(
            id=31, workspace_id=7, user_id=1, binding_id=11, provider="sandbox", client_token="tok", name="box",
            instance_type="sbx.h100.1x", region="sandbox-eu-1", gpu_raw_name="", gpu_count=Decimal(1), image="",
            ssh_public_key="", spot=False, status="running", raw_status="", origin="computehub",
            auto_repair=False, repair_state="ok", repair_attempts=0, created_at=T0, updated_at=T0))
        conn.execute(insert(t["cost_records"]).values(
            id=41, instance_id=31, workspace_id=7, user_id=1, provider="sandbox", gpu_slug="h100-sxm",
            period_start=T0, billable_seconds=900, price_per_hour=Decimal("2.00"), amount=Decimal("0.500000")))


def rows(engine, table: str, columns: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(f"SELECT {columns} FROM {table} ORDER BY id"))]


def columns(engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


def test_existing_rows_stay_unassigned_and_the_downgrade_gives_them_back(url):
    upgrade(url, "0017")  # the revision before projects (0017: invitations)
    engine = create_engine(sync_url(url))
    try:
        seed_organization(engine)
        before = {table: rows(engine, table, "id, workspace_id, user_id") for table in ASSIGNED}

        upgrade(url, "0018")

        for table in ASSIGNED:
            assert rows(engine, table, "id, workspace_id, user_id") == before[table]
            assert rows(engine, table, "project_id") == [(None,)], table
        with engine.begin() as conn:  # a project, a member limited to it, the instance in it
            conn.execute(text("INSERT INTO projects (id, workspace_id, name, created_at) VALUES (5, 7, 'Research', :t)"),
                         {"t": T0})
            conn.execute(text("INSERT INTO project_members (project_id, user_id, created_at) VALUES (5, 1, :t)"),
                         {"t": T0})
            conn.execute(text("UPDATE instances SET project_id = 5"))
        with pytest.raises(Exception):  # a name once per organization
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO projects (workspace_id, name, created_at) VALUES (7, 'Research', :t)"),
                             {"t": T0})
        with engine.begin() as conn:  # deleting the project leaves the instance, unassigned
            if url.startswith("sqlite"):
                conn.execute(text("PRAGMA foreign_keys=ON"))
            conn.execute(text("DELETE FROM projects WHERE id = 5"))
        assert rows(engine, "instances", "id, project_id") == [(31, None)]
        assert rows(engine, "project_members", "id") == []

        downgrade(url, "0017")

        names = set(inspect(engine).get_table_names())
        assert "projects" not in names and "project_members" not in names
        for table in ASSIGNED:
            assert "project_id" not in columns(engine, table)
            assert rows(engine, table, "id, workspace_id, user_id") == before[table]
        upgrade(url, "head")  # and up again
        assert all("project_id" in columns(engine, table) for table in ASSIGNED)
    finally:
        engine.dispose()
