"""Migration 0019 on a database with personal budgets, warnings and a hard-limit enforcement: each
user's rows move to their personal workspace with the same values (money exact); downgrade gives
them back keyed by the user (an organization's budget has no user and goes). SQLite and PostgreSQL."""

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

DB = "ws_migration_0019_test"
T0 = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


url = empty_database(DB)


def money_of(engine, raw) -> Decimal:
    """A stored amount read back through the model's type (micro-units on SQLite)."""
    return Money().process_result_value(raw, engine.dialect)


def seed(engine, url: str) -> None:
    """Users 1 and 2 (personal workspaces made by 0016), budgets keyed by the user, as before 0019."""
    t = Base.metadata.tables
    with engine.begin() as conn:
        for n, email in ((1, "ada@example.com"), (2, "bob@example.com")):
            conn.execute(insert(t["users"]).values(
                id=n, email=email, name=email.split("@")[0].title(), password_hash="x", is_admin=False,
                totp_enabled=False, timezone="UTC", created_at=T0, session_epoch=0))
    upgrade(url, "0016")  # makes their personal workspaces
    money = Money()
    with engine.begin() as conn:
        dialect = conn.dialect
        for n, amount, hard in ((1, "1250.50", True), (2, "0.01", False)):
            conn.execute(text("INSERT INTO budgets (user_id, monthly_amount, hard_limit, grace_minutes) "
                              "VALUES (:u, :a, :h, :g)"),
                         {"u": n, "a": money.process_bind_param(Decimal(amount), dialect), "h": hard, "g": 15 * n})
        conn.execute(text("INSERT INTO budget_alerts (user_id, month, threshold, sent_at) VALUES "
                          "(1, '2026-11', 75, :t), (1, '2026-11', 90, :t), (2, '2026-10', 95, :t)"), {"t": T0})
        conn.execute(text("INSERT INTO budget_enforcements (user_id, month, noticed_at, stop_due_at, stopped_count) "
                          "VALUES (1, '2026-11', :t, :t, 2)"), {"t": T0})


def table_rows(engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def test_personal_budgets_move_to_personal_workspaces_and_back(url):
    upgrade(url, "0015")
    engine = create_engine(sync_url(url))
    try:
        seed(engine, url)
        homes = dict(table_rows(engine, "SELECT personal_user_id, id FROM workspaces"))
        assert set(homes) == {1, 2}

        upgrade(url, "0019")

        budgets = table_rows(engine, "SELECT workspace_id, monthly_amount, hard_limit, grace_minutes FROM budgets "
                                     "ORDER BY workspace_id")
        assert [(w, money_of(engine, a), bool(h), g) for w, a, h, g in budgets] == [
            (homes[1], Decimal("1250.500000"), True, 15), (homes[2], Decimal("0.010000"), False, 30)]
        assert table_rows(engine, "SELECT workspace_id, month, threshold FROM budget_alerts "
                                  "ORDER BY workspace_id, month, threshold") == [
            (homes[1], "2026-11", 75), (homes[1], "2026-11", 90), (homes[2], "2026-10", 95)]
        assert table_rows(engine, "SELECT workspace_id, month, stopped_count FROM budget_enforcements") == [
            (homes[1], "2026-11", 2)]
        for table in ("budgets", "budget_alerts", "budget_enforcements"):
            columns = {c["name"] for c in inspect(engine).get_columns(table)}
            assert "workspace_id" in columns and "user_id" not in columns, table
            assert inspect(engine).get_pk_constraint(table)["name"] == f"pk_{table}"
        assert "workspace_quotas" in inspect(engine).get_table_names()

        # An organization's budget (after 0019 only): it has no user to go back to.
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO workspaces (id, kind, name, created_at) VALUES (90, 'organization', 'Org', :t)"),
                         {"t": T0})
            conn.execute(text("INSERT INTO budgets (workspace_id, monthly_amount, hard_limit, grace_minutes) "
                              "VALUES (90, 5, false, 60)"))

        downgrade(url, "0016")

        assert "workspace_quotas" not in inspect(engine).get_table_names()
        budgets = table_rows(engine, "SELECT user_id, monthly_amount, hard_limit, grace_minutes FROM budgets ORDER BY user_id")
        assert [(u, money_of(engine, a), bool(h), g) for u, a, h, g in budgets] == [
            (1, Decimal("1250.500000"), True, 15), (2, Decimal("0.010000"), False, 30)]
        assert table_rows(engine, "SELECT user_id, month, threshold FROM budget_alerts ORDER BY user_id, month, threshold") == [
            (1, "2026-11", 75), (1, "2026-11", 90), (2, "2026-10", 95)]
        assert table_rows(engine, "SELECT user_id, month, stopped_count FROM budget_enforcements") == [(1, "2026-11", 2)]

        upgrade(url, "0019")  # and up again on the downgraded data
        assert len(table_rows(engine, "SELECT workspace_id FROM budgets")) == 2
    finally:
        engine.dispose()
