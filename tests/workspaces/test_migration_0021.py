"""Migration 0021 on a database with a workspace budget, an organization and two projects: the
workspace's budget, warnings and quotas stay as they were; a project's budget, warning, hard-limit
month and quotas can be stored (money exact) and go with their project (ON DELETE CASCADE);
downgrade drops only the project tables. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import create_engine, insert, inspect, text

import app.db.models  # noqa: F401 - every table on Base.metadata
from app.db.base import Base
from app.db.engine import sync_url
from app.db.migrate import downgrade, upgrade
from app.db.types import Money
from tests.support.migration_db import empty_database

DB = "proj_budget_migration_0021_test"
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
NEW = {"project_budgets", "project_budget_alerts", "project_budget_enforcements", "project_quotas"}

url = empty_database(DB)


def rows(engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def seed(engine) -> None:
    t = Base.metadata.tables
    money = Money()
    with engine.begin() as conn:
        d = conn.dialect
        conn.execute(insert(t["users"]).values(id=1, email="ada@example.com", name="Ada", password_hash="x",
                                               is_admin=False, totp_enabled=False, timezone="UTC", created_at=T0,
                                               session_epoch=0))
        conn.execute(insert(t["workspaces"]).values(id=7, kind="organization", name="Acme", created_at=T0))
        conn.execute(insert(t["workspace_members"]).values(workspace_id=7, user_id=1, role="owner", created_at=T0))
        conn.execute(insert(t["projects"]).values(id=3, workspace_id=7, name="Train", created_at=T0))
        conn.execute(insert(t["projects"]).values(id=4, workspace_id=7, name="Serve", created_at=T0))
        conn.execute(text("INSERT INTO budgets (workspace_id, monthly_amount, hard_limit, grace_minutes) VALUES (7, :a, :h, 15)"),
                     {"a": money.process_bind_param(Decimal("900.5"), d), "h": True})
        conn.execute(text("INSERT INTO budget_alerts (workspace_id, month, threshold, sent_at) VALUES (7, '2026-12', 75, :t)"),
                     {"t": T0})
        conn.execute(text("INSERT INTO workspace_quotas (workspace_id, max_running_instances, checks) VALUES (7, 4, 0)"))


def test_project_tables_come_and_go_leaving_the_workspace_rows(url):
    upgrade(url, "0020")
    engine = create_engine(sync_url(url))
    try:
        seed(engine)
        before = [rows(engine, f"SELECT * FROM {table}") for table in ("budgets", "budget_alerts", "workspace_quotas")]

        upgrade(url, "0021")

        assert NEW <= set(inspect(engine).get_table_names())
        for table in NEW:
            assert inspect(engine).get_pk_constraint(table)["name"] == f"pk_{table}"
        money = Money()
        with engine.begin() as conn:
            d = conn.dialect
            for project, amount in ((3, "1250.123456"), (4, "0.01")):
                conn.execute(text("INSERT INTO project_budgets (project_id, monthly_amount, hard_limit) VALUES (:p, :a, :h)"),
                             {"p": project, "a": money.process_bind_param(Decimal(amount), d), "h": project == 3})
                conn.execute(text("INSERT INTO project_quotas (project_id, max_gpus, max_hourly_spend) VALUES (:p, 8, :h)"),
                             {"p": project, "h": money.process_bind_param(Decimal("12.5"), d)})
            conn.execute(text("INSERT INTO project_budget_alerts (project_id, month, threshold, sent_at) "
                              "VALUES (3, '2026-12', 90, :t)"), {"t": T0})
            conn.execute(text("INSERT INTO project_budget_enforcements (project_id, month, noticed_at, stop_due_at) "
                              "VALUES (3, '2026-12', :t, :t)"), {"t": T0})
        stored = rows(engine, "SELECT project_id, monthly_amount, hard_limit, grace_minutes FROM project_budgets ORDER BY project_id")
        assert [(p, money.process_result_value(a, engine.dialect), bool(h), g) for p, a, h, g in stored] == [
            (3, Decimal("1250.123456"), True, 60), (4, Decimal("0.010000"), False, 60)]
        assert rows(engine, "SELECT stopped_count FROM project_budget_enforcements") == [(0,)]
        # The workspace's rows are as they were.
        assert [rows(engine, f"SELECT * FROM {table}") for table in ("budgets", "budget_alerts", "workspace_quotas")] == before

        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.execute(text("PRAGMA foreign_keys=ON"))
            conn.execute(text("DELETE FROM projects WHERE id = 3"))
        for table in NEW:
            assert rows(engine, f"SELECT project_id FROM {table}") == ([] if table in (
                "project_budget_alerts", "project_budget_enforcements") else [(4,)]), table

        downgrade(url, "0020")

        assert not NEW & set(inspect(engine).get_table_names())
        assert [rows(engine, f"SELECT * FROM {table}") for table in ("budgets", "budget_alerts", "workspace_quotas")] == before
        upgrade(url, "0021")  # and up again
        assert NEW <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
