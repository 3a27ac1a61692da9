"""The audit log: one append-only, hash-chained list of changes per workspace."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.types import UTCDateTime


class AuditEvent(Base):
    """A change: who, where from, on what, before and after. ``hash`` covers every other field and
    the previous event's hash, so an edited, removed or reordered event breaks the chain."""

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("workspace", "seq"),
                      Index("ix_audit_events_workspace_at", "workspace", "at"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    workspace: Mapped[str] = mapped_column(String(40))
    """``user:<id>`` for a personal workspace (later ``org:<id>``); not a foreign key: the log outlives its actors."""
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(48))
    actor_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor: Mapped[str] = mapped_column(String(320))
    """The actor as shown then (e-mail address, or ``system``/``stripe`` for work no person did)."""
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    project: Mapped[str] = mapped_column(String(64), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    request_id: Mapped[str] = mapped_column(String(40), default="")
    via: Mapped[str] = mapped_column(String(64), default="")
    """How the actor came in: ``web``, ``api token chk_ab12cd34``; empty for background work."""
    before: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    after: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """The last event of each workspace's chain: appends serialise on this row, and a removed
    last event is noticed (the head still names it)."""

    __tablename__ = "audit_chain_heads"

    workspace: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
