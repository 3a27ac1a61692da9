"""Migration 0017 on both databases: existing workspaces get the two-factor policy off, the
invitations table takes rows (token hash unique), and downgrade removes both; upgrading again works."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from app.db.engine import sync_url
from app.db.migrate import downgrade, upgrade
from tests.workspaces.test_migration_0016 import url  # noqa: F401 - the per-database fixture

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def test_invitations_and_the_two_factor_policy_up_and_down(url):  # noqa: F811
    upgrade(url, "0016")
    engine = create_engine(sync_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO users (id, email, name, password_hash, is_admin, totp_enabled, timezone, "
                              "created_at, session_epoch) VALUES (1, 'a@example.com', 'A', 'x', false, false, 'UTC', "
                              ":t, 0)"), {"t": T0})
            conn.execute(text("INSERT INTO workspaces (id, kind, name, created_at) VALUES (5, 'organization', 'Acme', :t)"),
                         {"t": T0})

        upgrade(url, "0017")

        with engine.begin() as conn:
            assert conn.execute(text("SELECT require_two_factor FROM workspaces WHERE id = 5")).scalar_one() in (False, 0)
            insert = text("INSERT INTO workspace_invitations (workspace_id, email, role, token_hash, invited_by, "
                          "created_at, expires_at) VALUES (5, 'b@example.com', 'member', :h, 1, :t, :e)")
            conn.execute(insert, {"h": "f" * 64, "t": T0, "e": T0 + timedelta(days=7)})
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert, {"h": "f" * 64, "t": T0, "e": T0 + timedelta(days=7)})

        downgrade(url, "0016")

        assert "workspace_invitations" not in inspect(engine).get_table_names()
        assert "require_two_factor" not in {c["name"] for c in inspect(engine).get_columns("workspaces")}
        upgrade(url, "0017")
        assert "workspace_invitations" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
