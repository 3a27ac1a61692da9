"""Migration 0016 on a database full of personal data: every user gets a personal workspace they
own, every console row lands in its creator's one, encrypted keys still decrypt; then downgrade
gives the same rows back without the column. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import create_engine, insert, inspect, text
from sqlalchemy.orm import Session, load_only

import app.db.models  # noqa: F401 - every table on Base.metadata
from app.console.bindings import decrypt_credentials
from app.db.base import Base
from app.db.engine import sync_url
from app.db.migrate import downgrade, upgrade
from app.db.models import ProviderBinding
from app.security.keyring import Keyring, binding_aad, generate_key_spec
from tests.support.migration_db import empty_database

DB = "ws_migration_0016_test"
T0 = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
SCOPED = ("provider_bindings", "instances", "deployment_templates", "cost_records")


url = empty_database(DB)


def seed_personal_data(engine, keyring: Keyring) -> dict[str, dict]:
    """Two users with a key each (encrypted the pre-0016 way), an instance, a template, costs."""
    # The models' tables give the column types (money, UTC times); only pre-0016 columns are set.
    t = Base.metadata.tables
    secrets = {}
    with engine.begin() as conn:
        for n, email in ((1, "ada@example.com"), (2, "bob@example.com")):
            conn.execute(insert(t["users"]).values(
                id=n, email=email, name=email.split("@")[0].title(), password_hash="x", is_admin=False,
                totp_enabled=False, timezone="UTC", created_at=T0, session_epoch=0))
            secret = json.dumps({"api_key": f"sbx-key-of-{n}"})
            secrets[n] = secret
            conn.execute(insert(t["provider_bindings"]).values(
                id=10 + n, user_id=n, provider="sandbox", label="Sandbox", key_hint="of-1",
                key_ciphertext=keyring.encrypt(secret, binding_aad(n, "sandbox")), status="verified", created_at=T0))
            conn.execute(insert(t["deployment_templates"]).values(
                id=20 + n, user_id=n, name="train", provider="sandbox", instance_type="sbx.h100.1x",
                region="sandbox-eu-1", image="", ssh_public_key="", spot=False, created_at=T0))
            conn.execute(insert(t["instances"]).values(
                id=30 + n, user_id=n, binding_id=10 + n, provider="sandbox", client_token=f"tok-{n}", name="box",
                instance_type="sbx.h100.1x", region="sandbox-eu-1", gpu_raw_name="", gpu_count=Decimal(1), image="",
                ssh_public_key="", spot=False, status="running", raw_status="", origin="computehub",
                auto_repair=False, repair_state="ok", repair_attempts=0, created_at=T0, updated_at=T0))
            conn.execute(insert(t["cost_records"]).values(
                instance_id=30 + n, user_id=n, provider="sandbox", gpu_slug="h100-sxm", period_start=T0,
                billable_seconds=900, price_per_hour=Decimal("2.00"), amount=Decimal("0.500000")))
    return secrets


def rows(engine, table: str, columns: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(f"SELECT {columns} FROM {table} ORDER BY id"))]


def test_personal_data_moves_into_personal_workspaces_and_back(url):
    keyring = Keyring.from_spec(generate_key_spec("m1"))
    upgrade(url, "0015")
    engine = create_engine(sync_url(url))
    try:
        secrets = seed_personal_data(engine, keyring)
        before = {table: rows(engine, table, "id, user_id") for table in SCOPED}

        upgrade(url, "0016")

        workspaces = rows(engine, "workspaces", "id, kind, name, personal_user_id")
        assert [(kind, name, owner) for _, kind, name, owner in workspaces] == [
            ("personal", "Ada", 1), ("personal", "Bob", 2)]
        home = {owner: wid for wid, _, _, owner in workspaces}
        assert rows(engine, "workspace_members", "workspace_id, user_id, role") == [
            (home[1], 1, "owner"), (home[2], 2, "owner")]
        for table in SCOPED:
            moved = rows(engine, table, "id, user_id, workspace_id")
            assert [(i, u) for i, u, _ in moved] == before[table]  # user_id stays: "created by"
            assert all(w == home[u] for _, u, w in moved), table
            column = inspect(engine).get_columns(table)
            assert next(c for c in column if c["name"] == "workspace_id")["nullable"] is False
        # The keys encrypted before workspaces still decrypt through the app's own path (the models
        # are the newest schema's, so the later migrations run first).
        upgrade(url, "head")
        known = load_only(ProviderBinding.id, ProviderBinding.workspace_id, ProviderBinding.user_id,
                          ProviderBinding.provider, ProviderBinding.key_ciphertext)
        with Session(engine) as session:
            for n in (1, 2):
                row = session.get(ProviderBinding, 10 + n, options=[known])
                assert row.workspace.kind == "personal"
                assert decrypt_credentials(row, keyring) == json.loads(secrets[n])

        downgrade(url, "0015")

        names = set(inspect(engine).get_table_names())
        assert "workspaces" not in names and "workspace_members" not in names
        for table in SCOPED:
            assert "workspace_id" not in {c["name"] for c in inspect(engine).get_columns(table)}
            assert rows(engine, table, "id, user_id") == before[table]
        # Upgrading again works on the downgraded data (the migration is not one-shot).
        upgrade(url, "head")
        assert len(rows(engine, "workspaces", "id")) == 2
    finally:
        engine.dispose()


def test_an_organization_row_named_like_its_creators_own_is_renamed_on_downgrade(url):
    """Ada's org has a key and a template named like her personal ones: the downgrade keeps all four."""
    keyring = Keyring.from_spec(generate_key_spec("m1"))
    upgrade(url, "0015")
    engine = create_engine(sync_url(url))
    try:
        seed_personal_data(engine, keyring)
        upgrade(url, "0016")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO workspaces (id, kind, name, created_at) "
                              "VALUES (90, 'organization', 'Acme', :t)"), {"t": T0})
            conn.execute(text("INSERT INTO provider_bindings (id, user_id, workspace_id, provider, label, key_hint, "
                              "key_ciphertext, status, created_at) SELECT 50, 1, 90, provider, label, key_hint, "
                              "key_ciphertext, status, created_at FROM provider_bindings WHERE id = 11"))
            conn.execute(text("INSERT INTO provider_bindings (id, user_id, workspace_id, provider, label, key_hint, "
                              "key_ciphertext, status, created_at) SELECT 51, 1, 90, provider, 'Spare', key_hint, "
                              "key_ciphertext, status, created_at FROM provider_bindings WHERE id = 11"))
            conn.execute(text("INSERT INTO deployment_templates (id, user_id, workspace_id, name, provider, "
                              "instance_type, region, image, ssh_public_key, spot, created_at) SELECT 60, 1, 90, "
                              "name, provider, instance_type, region, image, ssh_public_key, spot, created_at "
                              "FROM deployment_templates WHERE id = 21"))

        downgrade(url, "0015")

        assert rows(engine, "provider_bindings", "id, user_id, label") == [
            (11, 1, "Sandbox"), (12, 2, "Sandbox"), (50, 1, "Sandbox (organization row 50)"), (51, 1, "Spare")]
        assert rows(engine, "deployment_templates", "id, user_id, name") == [
            (21, 1, "train"), (22, 2, "train"), (60, 1, "train (organization row 60)")]
    finally:
        engine.dispose()
