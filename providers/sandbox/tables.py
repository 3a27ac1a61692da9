"""The simulated cloud's own tables (created by Alembic migration 0011, like every table).

They have their own ``MetaData``: the sandbox is a provider, below the app, and never imports
the app's models; ``migrations/env.py`` compares both.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, MetaData, String, Table, Text

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s", "pk": "pk_%(table_name)s",
})

accounts = Table(
    "sandbox_accounts", metadata,
    Column("key_digest", String(64), primary_key=True),  # sha256 of the API key, never the key
    Column("faults", Text, nullable=False),  # Faults.to_json()
    Column("rng_draws", Integer, nullable=False, default=0),  # api_error_rate draws so far (replayable)
    Column("created_at", DateTime(timezone=True), nullable=False),
)

instances = Table(
    "sandbox_instances", metadata,
    Column("id", String(32), primary_key=True),
    Column("key_digest", String(64), ForeignKey("sandbox_accounts.key_digest", ondelete="CASCADE"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("instance_type", String(64), nullable=False),
    Column("region", String(64), nullable=False),
    Column("image", String(255), nullable=False),
    Column("disk_gb", Integer, nullable=False),
    Column("spot", Boolean, nullable=False),
    Column("client_token", String(128), nullable=False),
    Column("price_per_hour", String(32), nullable=False),  # the exact decimal the API reports
    Column("public_ip", String(45), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("since", DateTime(timezone=True), nullable=False),
    Column("boot_fails", Boolean, nullable=False),
    Index("ix_sandbox_instances_key_digest", "key_digest"),
    Index("ix_sandbox_instances_key_digest_client_token", "key_digest", "client_token"),
)
