"""Notifications (outbox, preferences, Telegram), price and cost alerts, health checks and repairs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.types import Money, UTCDateTime


class NotificationPreference(Base):
    """A switch per event type and channel; a missing row means the default (on)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)


class OutboxMessage(Base):
    """Every outgoing message, written in the same transaction as what caused it; sent with retries."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),
                      Index("ix_outbox_coalesce", "coalesce_key", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    """email | telegram"""
    destination: Mapped[str] = mapped_column(String(320))
    event_type: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(255), default="")
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    """Makes "at most once" events (a budget threshold per month, a price crossing) idempotent."""
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """pending | sent | dead (gave up after the last retry) | merged (sent as part of another message)"""
    coalesce_key: Mapped[str | None] = mapped_column(String(255))
    """Messages with the same key that are pending together are sent as one (a burst of changes)."""
    payload: Mapped[str | None] = mapped_column(Text)
    """JSON: what the message was rendered from, so a burst can be rendered again as one list."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TelegramChat(Base):
    """A chat that talked to the bot; linked to an account through a one-time deep-link token."""

    __tablename__ = "telegram_chats"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    username: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    """False once the user blocked the bot or sent /stop: nothing is sent there."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TelegramLinkToken(Base):
    __tablename__ = "telegram_link_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PriceAlert(Base):
    """"Tell me when an H100 is under $2.00 per GPU-hour": one message per crossing, not per poll."""

    __tablename__ = "price_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    """Set for alerts made in the bot by people without an account."""
    gpu: Mapped[str] = mapped_column(String(64))
    """A GPU family or variant slug."""
    max_price: Mapped[Decimal] = mapped_column(Money())
    providers: Mapped[str] = mapped_column(String(512), default="")
    """Comma-separated source names; empty = any provider."""
    spot: Mapped[bool | None] = mapped_column(Boolean)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    below: Mapped[bool] = mapped_column(Boolean, default=False)
    """Whether the cheapest matching price was under the threshold at the last check."""
    last_price: Mapped[Decimal | None] = mapped_column(Money())
    last_crossed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Budget(Base):
    """A workspace's monthly budget (personal or organization): warnings go to the members who may
    set it (owner, admin, billing)."""

    __tablename__ = "budgets"

    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    monthly_amount: Mapped[Decimal] = mapped_column(Money())
    hard_limit: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    """At 100 %: a notice, then after ``grace_minutes`` the running instances are stopped (never
    deleted), and launching or starting is refused until the budget is raised or the month ends."""
    grace_minutes: Mapped[int] = mapped_column(Integer, default=60, server_default="60")


class BudgetEnforcement(Base):
    """A month in which spending reached a hard-limited budget: noticed once, stopped once."""

    __tablename__ = "budget_enforcements"

    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    noticed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stop_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stopped_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class BudgetAlert(Base):
    """A threshold (75/90/95 %) reached in a month: the primary key makes it at most once."""

    __tablename__ = "budget_alerts"

    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    threshold: Mapped[int] = mapped_column(Integer, primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HealthCheck(Base):
    __tablename__ = "health_checks"
    __table_args__ = (Index("ix_health_checks_instance_time", "instance_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    healthy: Mapped[bool] = mapped_column(Boolean)
    provider_status: Mapped[str] = mapped_column(String(32))
    endpoint_ok: Mapped[bool | None] = mapped_column(Boolean)
    detail: Mapped[str | None] = mapped_column(Text)


class RepairAction(Base):
    __tablename__ = "repair_actions"
    __table_args__ = (Index("ix_repair_actions_instance_time", "instance_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(16))
    """start | reboot | replace | give_up"""
    result: Mapped[str] = mapped_column(String(16))
    """ok | failed"""
    detail: Mapped[str | None] = mapped_column(Text)
    replacement_instance_id: Mapped[int | None] = mapped_column(Integer)
