"""The "Auto-repair" section of an instance's page: switch, endpoint, state, checks, repairs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.workspaces.scope import Owner, resolve
from app.billing.entitlements import cheapest_plan_with, workspace_entitlements
from app.console.instances import get_owned
from app.db.models import HealthCheck, Instance, RepairAction
from app.repair.configure import FEATURE
from app.repair.engine import GAVE_UP, REPAIRING
from app.settings import get_settings

SHOWN_CHECKS = 10
SHOWN_ACTIONS = 20


@dataclass(frozen=True)
class RepairForm:
    """What the user sent, shown again with the error when it was refused."""

    enabled: bool
    health_check_url: str
    error: str | None = None


@dataclass(frozen=True)
class RepairPanel:
    instance_id: int
    available: bool
    """The user's plan includes auto-repair."""
    plan_needed: str
    enabled: bool
    """Saved: the worker watches this instance."""
    checkbox_on: bool
    """What the form shows (the user's choice when the form comes back with an error)."""
    health_check_url: str
    error: str | None
    repair_state: str
    attempts: int
    max_attempts: int
    next_repair_at: datetime | None
    replaced_by_id: int | None
    replaces_id: int | None
    check_interval_seconds: int
    endpoint_failures: int
    checks: list[HealthCheck]
    actions: list[RepairAction]

    @property
    def state(self) -> str:
        """off | ok | repairing | gave_up | replaced"""
        if self.replaced_by_id is not None:
            return "replaced"
        if not self.enabled:
            return "off"
        return self.repair_state if self.repair_state in (REPAIRING, GAVE_UP) else "ok"


async def repair_panel(session: AsyncSession, owner: Owner, instance_id: int,
                       form: RepairForm | None = None) -> RepairPanel:
    scope = await resolve(session, owner)
    row = await get_owned(session, scope, instance_id)
    # Display only: the page has no request settings at hand; the worker uses the app's own.
    settings = get_settings().repair
    checks = await session.execute(select(HealthCheck).where(HealthCheck.instance_id == row.id)
                                   .order_by(HealthCheck.at.desc(), HealthCheck.id.desc()).limit(SHOWN_CHECKS))
    actions = await session.execute(select(RepairAction).where(RepairAction.instance_id == row.id)
                                    .order_by(RepairAction.at.desc(), RepairAction.id.desc()).limit(SHOWN_ACTIONS))
    replaces = await session.execute(select(Instance.id).where(Instance.replaced_by_id == row.id,
                                                               Instance.workspace_id == row.workspace_id).limit(1))
    return RepairPanel(
        instance_id=row.id, available=(await workspace_entitlements(session, scope)).has(FEATURE),
        plan_needed=await cheapest_plan_with(session, FEATURE),
        enabled=row.auto_repair, checkbox_on=form.enabled if form else row.auto_repair,
        health_check_url=form.health_check_url if form else (row.health_check_url or ""),
        error=form.error if form else None, repair_state=row.repair_state, attempts=row.repair_attempts,
        max_attempts=settings.max_attempts, next_repair_at=row.next_repair_at, replaced_by_id=row.replaced_by_id,
        replaces_id=replaces.scalar(), check_interval_seconds=settings.check_interval_seconds,
        endpoint_failures=settings.endpoint_failures,
        checks=list(checks.scalars()), actions=list(actions.scalars()),
    )
