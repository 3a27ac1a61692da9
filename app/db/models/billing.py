"""Plans, subscriptions, Stripe events seen, invoices, and atomic quota counters."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.types import Money, UTCDateTime


class Plan(Base):
    """Created by a migration; features and quotas are JSON so a plan change is a data change."""

    __tablename__ = "plans"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    """basic | pro | enterprise"""
    name: Mapped[str] = mapped_column(String(64))
    rank: Mapped[int] = mapped_column(Integer)
    """Order of the tiers: a plan includes every feature of the lower ranks."""
    monthly_price: Mapped[Decimal] = mapped_column(Money())
    features: Mapped[str] = mapped_column(Text)
    """JSON list of feature names."""
    quotas: Mapped[str] = mapped_column(Text)
    """JSON object resource -> limit (null = unlimited)."""
    stripe_price_setting: Mapped[str | None] = mapped_column(String(64))
    """Name of the setting holding this plan's Stripe price id (ids differ per Stripe account)."""


class Subscription(Base):
    """A person's plan (``workspace_id`` null) or an organization's (``workspace_id`` set; ``user_id``
    is then the member who subscribed it, its billing contact). One personal row per user (a partial
    unique index) and one row per organization (unique ``workspace_id``)."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        Index("uq_subscriptions_personal_user_id", "user_id", unique=True,
              sqlite_where=text("workspace_id IS NULL"), postgresql_where=text("workspace_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    workspace_id: Mapped[int | None] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), unique=True)
    plan_code: Mapped[str] = mapped_column(ForeignKey("plans.code"))
    status: Mapped[str] = mapped_column(String(24))
    """trialing | active | past_due | canceled (Stripe's other values are mapped onto these)"""
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    trial_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    trial_used: Mapped[bool] = mapped_column(Boolean, default=False)
    past_due_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stripe_customer_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    stripe_state_at: Mapped[int | None] = mapped_column(Integer)
    """``created`` of the newest Stripe event applied: an older event arriving late changes nothing."""
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StripeEvent(Base):
    """Every webhook event id processed once (the primary key makes replays no-ops)."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    created: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Invoice(Base):
    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    workspace_id: Mapped[int | None] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    """An organization's invoice (its billing contact is ``user_id``); null: a personal one."""
    stripe_invoice_id: Mapped[str] = mapped_column(String(64), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(24))
    """paid | payment_failed | open"""
    hosted_invoice_url: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class QuotaUsage(Base):
    """How much of a quota an account uses; taken with one conditional UPDATE (atomic)."""

    __tablename__ = "quota_usage"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    resource: Mapped[str] = mapped_column(String(32), primary_key=True)
    used: Mapped[int] = mapped_column(Integer, default=0)
