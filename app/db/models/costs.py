"""Cost records: what each instance cost, per instance per 15-minute UTC period and price.

Fifteen minutes divides every time zone offset in use (+5:30, +5:45...), so costs sum exactly
into local days and months whatever the user's time zone."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.types import Money, UTCDateTime


class CostRecord(Base):
    __tablename__ = "cost_records"
    __table_args__ = (
        UniqueConstraint("instance_id", "period_start", "price_per_hour"),
        Index("ix_cost_records_user_period", "user_id", "period_start"),
        Index("ix_cost_records_workspace_period", "workspace_id", "period_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"))
    """The instance's project when the period was accrued (recomputed periods take its current one)."""
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    """Who launched the instance (the workspace pays)."""
    provider: Mapped[str] = mapped_column(String(64))
    gpu_slug: Mapped[str | None] = mapped_column(String(64))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    billable_seconds: Mapped[int] = mapped_column(Integer)
    price_per_hour: Mapped[Decimal] = mapped_column(Money())
    amount: Mapped[Decimal] = mapped_column(Money())
    """price_per_hour x billable_seconds / 3600, exact to 6 decimals."""
