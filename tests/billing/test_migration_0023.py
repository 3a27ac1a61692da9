"""Migration 0023 on a database with personal subscriptions and invoices: they stay as they are;
an organization's subscription can then sit next to its billing contact's personal one; one
personal row per user and one row per organization are still enforced by the database; downgrade
drops the organizations' rows and gives ``user_id`` its plain unique constraint back. SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, insert, text
from sqlalchemy.exc import IntegrityError

import app.db.models  # noqa: F401 - every table on Base.metadata
from app.db.base import Base
from app.db.engine import sync_url
from app.db.migrate import downgrade, upgrade
from app.db.types import UTCDateTime
from tests.support.migration_db import empty_database

DB = "billing_migration_0023_test"
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
url = empty_database(DB)

SUB = ("INSERT INTO subscriptions (user_id, {extra}plan_code, status, cancel_at_period_end, trial_used, updated_at) "
       "VALUES (:u, {value}:p, 'active', false, false, :t)")


def add_subscription(engine, user_id: int, plan: str, workspace_id: int | None = None) -> None:
    extra, value = ("workspace_id, ", ":w, ") if workspace_id is not None else ("", "")
    with engine.begin() as conn:
        conn.execute(text(SUB.format(extra=extra, value=value)), {"u": user_id, "p": plan, "t": T0, "w": workspace_id})


def rows(engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def test_organization_subscriptions_next_to_personal_ones_and_back(url):
    upgrade(url, "0022")
    engine = create_engine(sync_url(url))
    try:
        t = Base.metadata.tables
        with engine.begin() as conn:
            for n in (1, 2):
                conn.execute(insert(t["users"]).values(
                    id=n, email=f"u{n}@example.com", name=f"U{n}", password_hash="x", is_admin=False,
                    totp_enabled=False, timezone="UTC", created_at=T0, session_epoch=0))
            conn.execute(text("INSERT INTO workspaces (id, kind, name, created_at) VALUES "
                              "(89, 'organization', 'Old', :t)"), {"t": T0})
            conn.execute(text("INSERT INTO workspace_members (workspace_id, user_id, role, created_at) "
                              "VALUES (89, 2, 'owner', :t)"), {"t": T0})
            conn.execute(text("INSERT INTO invoices (user_id, stripe_invoice_id, amount, currency, status, created_at) "
                              "VALUES (1, 'in_personal', 29000000, 'usd', 'paid', :t)"), {"t": T0})
        add_subscription(engine, 1, "pro")
        add_subscription(engine, 2, "basic")

        before = datetime.now(timezone.utc)
        upgrade(url, "0023")

        assert sorted(rows(engine, "SELECT user_id, workspace_id, plan_code, status FROM subscriptions"),
                      key=lambda r: (r[0], r[1] or 0)) == [
            (1, None, "pro", "active"), (2, None, "basic", "active"), (2, 89, "enterprise", "trialing")]
        # The organization that existed gets a new one's trial (its owner the billing contact).
        with engine.connect() as conn:
            ends = conn.execute(text("SELECT trial_end FROM subscriptions WHERE workspace_id = 89")
                                .columns(trial_end=UTCDateTime())).scalar_one()
        assert before + timedelta(days=14) <= ends <= datetime.now(timezone.utc) + timedelta(days=14)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO workspaces (id, kind, name, created_at) VALUES "
                              "(90, 'organization', 'Acme', :t), (91, 'organization', 'Beta', :t)"), {"t": T0})
        assert rows(engine, "SELECT user_id, workspace_id FROM invoices") == [(1, None)]
        # User 1 is the billing contact of two organizations and keeps their personal Pro.
        add_subscription(engine, 1, "enterprise", workspace_id=90)
        add_subscription(engine, 1, "enterprise", workspace_id=91)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO invoices (user_id, workspace_id, stripe_invoice_id, amount, currency, "
                              "status, created_at) VALUES (1, 90, 'in_org', 199000000, 'usd', 'paid', :t)"), {"t": T0})
        with pytest.raises(IntegrityError):
            add_subscription(engine, 1, "basic")  # a second personal row
        with pytest.raises(IntegrityError):
            add_subscription(engine, 2, "enterprise", workspace_id=90)  # a second row for the organization
        assert len(rows(engine, "SELECT id FROM subscriptions WHERE user_id = 1")) == 3

        downgrade(url, "0022")

        assert rows(engine, "SELECT user_id, plan_code FROM subscriptions ORDER BY user_id") == [(1, "pro"), (2, "basic")]
        assert rows(engine, "SELECT stripe_invoice_id FROM invoices") == [("in_personal",)]
        with pytest.raises(IntegrityError):
            add_subscription(engine, 1, "basic")  # user_id is plainly unique again

        upgrade(url, "0023")  # and up again on the downgraded data (the old organization's trial again)
        assert len(rows(engine, "SELECT id FROM subscriptions")) == 3
    finally:
        engine.dispose()
