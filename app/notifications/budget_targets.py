"""Whose budget a check is about: a workspace's (``project_id`` None) or one of an organization's
projects'. The budget rules (``budgets``, ``hard_limit``) are written once over a ``Target``; this
module is the one place that knows which tables and which instances and cost records each one means.

A project counts the cost records and instances assigned to it, in the organization's month; its
budget sits beside the workspace's (both are checked, both may stop: the workspace's stops all of
its instances, a project's only that project's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import (
    Budget,
    BudgetAlert,
    BudgetEnforcement,
    CostRecord,
    Instance,
    Project,
    ProjectBudget,
    ProjectBudgetAlert,
    ProjectBudgetEnforcement,
)
from app.db.types import UTCDateTime

_RECORD = "INSERT INTO {table} ({key}, month, threshold, sent_at) VALUES (:id, :month, :threshold, :now) " \
          "ON CONFLICT ({key}, month, threshold) DO NOTHING"
_RECORDS = {key: text(_RECORD.format(table=table, key=key)).bindparams(bindparam("now", type_=UTCDateTime()))
            for table, key in (("budget_alerts", "workspace_id"), ("project_budget_alerts", "project_id"))}


@dataclass(frozen=True)
class Target:
    workspace_id: int
    project_id: int | None = None

    @classmethod
    def of(cls, value: int | Target) -> Target:
        """A bare int is a workspace id (what the workspace callers pass)."""
        return value if isinstance(value, Target) else cls(value)

    @property
    def is_project(self) -> bool:
        return self.project_id is not None

    @property
    def key(self) -> str:
        """Names the budget in dedupe keys (a workspace's are as they were before projects had budgets)."""
        return f"project{self.project_id}" if self.is_project else f"ws{self.workspace_id}"

    @property
    def _id(self) -> int:
        return self.project_id if self.is_project else self.workspace_id

    @property
    def _key_column(self) -> str:
        return "project_id" if self.is_project else "workspace_id"

    def _models(self):
        return (ProjectBudget, ProjectBudgetAlert, ProjectBudgetEnforcement) if self.is_project else (
            Budget, BudgetAlert, BudgetEnforcement)

    def _where(self, model):
        return getattr(model, self._key_column) == self._id

    async def budget(self, session: AsyncSession) -> Budget | ProjectBudget | None:
        return await session.get(self._models()[0], self._id)

    def new_budget(self, **values) -> Budget | ProjectBudget:
        return self._models()[0](**{self._key_column: self._id}, **values)

    async def enforcement(self, session: AsyncSession, month: str) -> BudgetEnforcement | ProjectBudgetEnforcement | None:
        return await session.get(self._models()[2], (self._id, month))

    def new_enforcement(self, month: str, **values) -> BudgetEnforcement | ProjectBudgetEnforcement:
        return self._models()[2](**{self._key_column: self._id}, month=month, **values)

    async def lift(self, session: AsyncSession, month: str) -> bool:
        """Remove the month's enforcement; whether there was one."""
        model = self._models()[2]
        return (await session.execute(delete(model).where(self._where(model), model.month == month))).rowcount > 0

    async def record_alert(self, session: AsyncSession, month: str, threshold: int, now: datetime) -> bool:
        """Record a threshold as told this month; False when it already was (at most once)."""
        result = await session.execute(_RECORDS[self._key_column], {"id": self._id, "month": month,
                                                                    "threshold": threshold, "now": now})
        return result.rowcount == 1

    async def warned(self, session: AsyncSession, month: str) -> list[int]:
        model = self._models()[1]
        return list((await session.execute(select(model.threshold).where(self._where(model), model.month == month)
                                           .order_by(model.threshold))).scalars())

    def costs(self):
        """The cost records that count against this budget."""
        clause = CostRecord.workspace_id == self.workspace_id
        return and_(clause, CostRecord.project_id == self.project_id) if self.is_project else clause

    def instances(self):
        """The instances this budget's hard limit stops."""
        clause = Instance.workspace_id == self.workspace_id
        return and_(clause, Instance.project_id == self.project_id) if self.is_project else clause


async def all_targets(session: AsyncSession, *, hard_only: bool = False) -> list[Target]:
    """Every budget to check: the workspaces', then the projects' (each by id)."""
    ws = select(Budget.workspace_id).order_by(Budget.workspace_id)
    pr = (select(Project.workspace_id, ProjectBudget.project_id).join(Project, Project.id == ProjectBudget.project_id)
          .order_by(ProjectBudget.project_id))
    if hard_only:
        ws, pr = ws.where(Budget.hard_limit.is_(True)), pr.where(ProjectBudget.hard_limit.is_(True))
    return ([Target(w) for w in (await session.execute(ws)).scalars()]
            + [Target(w, p) for w, p in (await session.execute(pr)).all()])
