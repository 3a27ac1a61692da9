"""Console: provider key bindings, instances (deployments), their events, templates."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base
from app.db.models.workspaces import Workspace
from app.db.types import Money, UTCDateTime


class ProviderBinding(Base):
    """A user's API key for one provider, encrypted (AES-256-GCM; AAD = user + provider for a personal
    workspace, workspace + provider for an organization: see ``binding_aad``)."""

    __tablename__ = "provider_bindings"
    __table_args__ = (UniqueConstraint("workspace_id", "label"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    """The owner (scoping and the label's uniqueness); ``user_id`` is who created it."""
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"), index=True)
    """The organization's project it belongs to (None: unassigned); see ``Scope.project_ids``."""
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(120))
    key_ciphertext: Mapped[str] = mapped_column(Text)
    """``v1:<key id>:<base64 nonce + ciphertext>``; decrypted only in memory, right before a provider call."""
    key_hint: Mapped[str] = mapped_column(String(16))
    """The last 4 characters, for a masked display (``••••abcd``)."""
    status: Mapped[str] = mapped_column(String(16), default="unverified")
    """unverified | verified | invalid | disabled"""
    status_message: Mapped[str | None] = mapped_column(Text)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    workspace: Mapped[Workspace] = relationship(lazy="joined", innerjoin=True)
    """Loaded with the row: the key's associated data depends on the workspace's kind."""


class Instance(Base):
    """A deployment. The row is written *before* the provider is called (status ``launching``)."""

    __tablename__ = "instances"
    __table_args__ = (
        UniqueConstraint("client_token"),
        Index("ix_instances_provider_id", "binding_id", "provider_instance_id"),
        Index("ix_instances_user_status", "user_id", "status"),
        Index("ix_instances_workspace_status", "workspace_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    """The owner; ``user_id`` is who created it."""
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"), index=True)
    """The organization's project it belongs to (None: unassigned); see ``Scope.project_ids``."""
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    binding_id: Mapped[int | None] = mapped_column(ForeignKey("provider_bindings.id", ondelete="SET NULL"))
    provider: Mapped[str] = mapped_column(String(64))
    provider_instance_id: Mapped[str | None] = mapped_column(String(255))
    client_token: Mapped[str] = mapped_column(String(64))
    """Our idempotency key for the launch; lets the reconciler match what the provider created."""
    name: Mapped[str] = mapped_column(String(120))
    instance_type: Mapped[str] = mapped_column(String(255))
    region: Mapped[str] = mapped_column(String(128))
    gpu_slug: Mapped[str | None] = mapped_column(String(64))
    gpu_raw_name: Mapped[str] = mapped_column(String(255), default="")
    gpu_count: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    image: Mapped[str] = mapped_column(String(255), default="")
    disk_gb: Mapped[int | None] = mapped_column(Integer)
    ssh_public_key: Mapped[str] = mapped_column(Text, default="")
    spot: Mapped[bool] = mapped_column(Boolean, default=False)
    offer_price_per_hour: Mapped[Decimal | None] = mapped_column(Money())
    """The offer's price at launch: the cost fallback when the provider reports none."""
    provider_price_per_hour: Mapped[Decimal | None] = mapped_column(Money())
    status: Mapped[str] = mapped_column(String(16))
    raw_status: Mapped[str] = mapped_column(String(64), default="")
    origin: Mapped[str] = mapped_column(String(16), default="computehub")
    """computehub (launched here) | adopted (launch record completed by the reconciler) | discovered."""
    public_ip: Mapped[str | None] = mapped_column(String(64))
    ssh_host: Mapped[str | None] = mapped_column(String(255))
    """SSH endpoint as the provider reports it (a mapped port or a proxy); None: public_ip, port 22."""
    ssh_port: Mapped[int | None] = mapped_column(Integer)
    ssh_user: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("deployment_templates.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    auto_repair: Mapped[bool] = mapped_column(Boolean, default=False)
    health_check_url: Mapped[str | None] = mapped_column(String(512))
    """Optional http(s)://host:port/path or tcp://host:port checked besides the provider's state."""
    repair_state: Mapped[str] = mapped_column(String(16), default="ok")
    """ok | repairing | gave_up"""
    repair_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_repair_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    replaced_by_id: Mapped[int | None] = mapped_column(Integer)
    cost_accrued_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """The cost job has final records up to this time; it recomputes from here (no gap, no double count)."""
    lock_token: Mapped[str | None] = mapped_column(String(64))
    lock_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """A worker's claim on the row while it calls the provider (several workers are safe)."""


class InstanceEvent(Base):
    """Every state change of an instance, with its time: the source for cost accrual."""

    __tablename__ = "instance_events"
    __table_args__ = (Index("ix_instance_events_instance_time", "instance_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    raw_status: Mapped[str] = mapped_column(String(64), default="")
    price_per_hour: Mapped[Decimal | None] = mapped_column(Money())
    """The hourly price in force from this event on (provider-reported or the offer's)."""
    message: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class DeploymentTemplate(Base):
    __tablename__ = "deployment_templates"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    """The owner; ``user_id`` is who created it."""
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"), index=True)
    """The organization's project it belongs to (None: unassigned); see ``Scope.project_ids``."""
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    provider: Mapped[str] = mapped_column(String(64))
    instance_type: Mapped[str] = mapped_column(String(255))
    region: Mapped[str] = mapped_column(String(128))
    gpu_slug: Mapped[str | None] = mapped_column(String(64))
    image: Mapped[str] = mapped_column(String(255), default="")
    disk_gb: Mapped[int | None] = mapped_column(Integer)
    ssh_public_key: Mapped[str] = mapped_column(Text, default="")
    spot: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
