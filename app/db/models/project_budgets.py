"""A project's own monthly budget, its warnings and hard-limit months, and its quotas: the same rules
as the workspace's (``Budget``, ``BudgetAlert``, ``BudgetEnforcement``, ``WorkspaceQuota``), over
the instances and cost records assigned to the project.

Keyed by the project (not a nullable ``project_id`` on the workspace tables): the primary keys are
what make a warning, a notice and a quota lock happen once, and a nullable column cannot be part of
one. Deleting a project deletes its rows (ON DELETE CASCADE); its month is the organization's."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.types import Money, UTCDateTime

_PROJECT = "projects.id"


class ProjectBudget(Base):
    __tablename__ = "project_budgets"

    project_id: Mapped[int] = mapped_column(ForeignKey(_PROJECT, ondelete="CASCADE"), primary_key=True)
    monthly_amount: Mapped[Decimal] = mapped_column(Money())
    hard_limit: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    """At 100 %: a notice, then after ``grace_minutes`` the project's running instances are stopped."""
    grace_minutes: Mapped[int] = mapped_column(Integer, default=60, server_default="60")


class ProjectBudgetAlert(Base):
    __tablename__ = "project_budget_alerts"

    project_id: Mapped[int] = mapped_column(ForeignKey(_PROJECT, ondelete="CASCADE"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    threshold: Mapped[int] = mapped_column(Integer, primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProjectBudgetEnforcement(Base):
    __tablename__ = "project_budget_enforcements"

    project_id: Mapped[int] = mapped_column(ForeignKey(_PROJECT, ondelete="CASCADE"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    noticed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stop_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stopped_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ProjectQuota(Base):
    """``checks``: bumped by every check, the project's quota lock (see ``app.console.quotas``)."""

    __tablename__ = "project_quotas"

    project_id: Mapped[int] = mapped_column(ForeignKey(_PROJECT, ondelete="CASCADE"), primary_key=True)
    max_running_instances: Mapped[int | None] = mapped_column(Integer)
    max_gpus: Mapped[int | None] = mapped_column(Integer)
    max_hourly_spend: Mapped[Decimal | None] = mapped_column(Money())
    checks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
