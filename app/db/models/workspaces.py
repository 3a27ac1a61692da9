"""Workspaces: who owns console objects. A personal one per user, or an organization with members."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.types import Money, UTCDateTime

PERSONAL = "personal"
ORGANIZATION = "organization"


class Workspace(Base):
    __tablename__ = "workspaces"
    __table_args__ = (CheckConstraint("kind IN ('personal', 'organization')", name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    personal_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True, nullable=True)
    """Set only on a personal workspace: unique, so a user can never have two."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    require_two_factor: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """An organization's policy: a member without two-factor cannot act in it (app/workspaces/scope.py)."""


class WorkspaceMember(Base):
    __tablename__ = "workspace_members"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    """owner | admin | member | viewer | billing (see app/workspaces/roles.py)"""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WorkspaceInvitation(Base):
    """An e-mailed invitation into an organization: single use, expiring, revocable. Only the
    SHA-256 of its token is stored (like reset and e-mail change links)."""

    __tablename__ = "workspace_invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WorkspaceQuota(Base):
    """Limits on what a workspace runs at once (each optional), checked at every launch and start.
    ``checks`` is bumped by every check: that UPDATE locks the row (PostgreSQL) or the database
    (SQLite) until the launch intent commits, so two launches never both take the last slot."""

    __tablename__ = "workspace_quotas"

    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    max_running_instances: Mapped[int | None] = mapped_column(Integer)
    max_gpus: Mapped[int | None] = mapped_column(Integer)
    max_hourly_spend: Mapped[Decimal | None] = mapped_column(Money())
    """USD per hour over everything that runs (the prices the instances bill at)."""
    checks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
