"""Migrations: a deployment moved to another offer, step by step (``app/migration/machine.py``),
and what their data sync needs stored: the workspace's SSH key and its bound buckets."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.types import Money, UTCDateTime


class Migration(Base):
    __tablename__ = "migrations"
    __table_args__ = (Index("ix_migrations_workspace", "workspace_id", "created_at"),
                      Index("ix_migrations_due", "state", "wake_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    """Who started it (the audit actor; jobs act on their behalf)."""
    source_instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id", ondelete="SET NULL"))
    active_source_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    """The source's id while the migration is not finished, NULL after: one live migration per instance."""
    source_was_running: Mapped[bool] = mapped_column(Boolean, default=False)
    target_binding_id: Mapped[int | None] = mapped_column(ForeignKey("provider_bindings.id", ondelete="SET NULL"))
    target_provider: Mapped[str] = mapped_column(String(64))
    target_instance_type: Mapped[str] = mapped_column(String(255))
    target_region: Mapped[str] = mapped_column(String(128))
    target_spot: Mapped[bool] = mapped_column(Boolean, default=False)
    target_price_per_hour: Mapped[Decimal | None] = mapped_column(Money())
    target_client_token: Mapped[str] = mapped_column(String(64))
    """The target launch's idempotency token: a launch step run again gets the same instance back."""
    target_instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(24))
    paths: Mapped[str] = mapped_column(Text, default="[]")
    """JSON list of {"source", "target"} directories to copy (empty: a config-only migration)."""
    bucket_name: Mapped[str] = mapped_column(String(64), default="")
    """A ``migration_buckets`` binding of the workspace; empty on the sandbox (its local bucket)."""
    manifest: Mapped[str | None] = mapped_column(Text)
    """The checksum manifest the syncing step made on the source (JSON)."""
    rollback_window_seconds: Mapped[int] = mapped_column(Integer, default=86400)
    rollback_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    switched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    source_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    identity: Mapped[str | None] = mapped_column(Text)
    """The source's identity (JSON) as it was before the cut-over: what a rollback puts back."""
    rollback_reason: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    step_attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Attempts of the current step (retryable errors); reset at each transition."""
    step_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the current waiting step gives up (waiting_ready: the target never became ready)."""
    wake_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the periodic fan-out should run the current step again (None: now)."""
    lease_token: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MigrationStep(Base):
    """One attempt at one step: started, finished (None: interrupted or still running), outcome, log."""

    __tablename__ = "migration_steps"
    __table_args__ = (Index("ix_migration_steps_migration", "migration_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    migration_id: Mapped[int] = mapped_column(ForeignKey("migrations.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(24))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(16))
    """ok | waiting | retry | failed | timed_out | superseded; None while running or after a crash."""
    log: Mapped[str] = mapped_column(Text, default="")


class WorkspaceSshKey(Base):
    """ComputeHub's SSH identity in one workspace (``app/migration/keys.py``)."""

    __tablename__ = "workspace_ssh_keys"

    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    workspace_key: Mapped[str] = mapped_column(String(32))
    """``user:<id>`` / ``org:<id>``: the associated data the private key is encrypted under."""
    public_key: Mapped[str] = mapped_column(Text)
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MigrationBucket(Base):
    """A bucket bound to a workspace (``app/migration/buckets.py``: ``seal_bucket``)."""

    __tablename__ = "migration_buckets"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_migration_buckets_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    workspace_key: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    settings: Mapped[str] = mapped_column(Text)
    """JSON: kind, bucket, prefix, region, endpoint, directory (no credentials)."""
    credentials_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
