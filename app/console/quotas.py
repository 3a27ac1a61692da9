"""Workspace quotas: at most N running instances, N GPUs and $X an hour at once (each optional), set
by the workspace's owners and admins (``manage_quotas``) and checked at every launch and start.

The check is atomic like the plan's binding quota: one UPDATE bumps the workspace's quota row
first, which holds a row lock on PostgreSQL (the write lock on SQLite) until the caller's
transaction, the one that writes the launch intent, commits. A second launch waits at that UPDATE
and then counts the first one's instance, so two launches never both take the last slot. A
workspace without a quota row has no limits and takes no lock.

What counts: every instance that is or may be billing (launching, provisioning, running, stopping,
unknown); stopped, terminated and failed ones do not.

A project's own quotas (``ProjectQuota``, set in ``project_quotas``) count the instances assigned
to it and are checked after the workspace's, under the same discipline: the workspace row is
locked first, then the project's, always in that order (no two launches wait on each other in
opposite orders), and both locks are held until the intent commits. Both quotas must pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.console.errors import ConsoleError
from app.db.models import Instance, ProjectQuota, WorkspaceQuota
from app.db.types import money
from app.workspaces import projects
from app.workspaces.scope import Owner, resolve

NOT_RUNNING = ("stopped", "terminated", "failed")
MAX_COUNT = 100_000
MAX_HOURLY = Decimal(1_000_000)
LABELS = {"max_running_instances": "running instances", "max_gpus": "GPUs", "max_hourly_spend": "$ per hour"}


class QuotaReached(ConsoleError):
    """A launch or start over one of the workspace's quotas: 409 naming it and the usage."""

    status_code = 409


class QuotaError(ConsoleError):
    """A quota the form cannot take; the message is shown to the user."""


@dataclass(frozen=True)
class Usage:
    running: int
    gpus: Decimal
    hourly: Decimal


@dataclass(frozen=True)
class Limits:
    max_running_instances: int | None = None
    max_gpus: int | None = None
    max_hourly_spend: Decimal | None = None

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.max_running_instances, self.max_gpus, self.max_hourly_spend))


def _hourly_price():
    return func.coalesce(Instance.provider_price_per_hour, Instance.offer_price_per_hour)


async def usage(session: AsyncSession, workspace_id: int, project_id: int | None = None) -> Usage:
    """What counts against the workspace's quotas, or (``project_id``) against that project's."""
    stmt = (select(func.count(Instance.id), func.sum(Instance.gpu_count), func.sum(_hourly_price()))
            .where(Instance.workspace_id == workspace_id, Instance.status.not_in(NOT_RUNNING)))
    if project_id is not None:
        stmt = stmt.where(Instance.project_id == project_id)
    row = (await session.execute(stmt)).one()
    return Usage(int(row[0] or 0), Decimal(row[1] or 0), money(row[2] or 0))


async def limits_of(session: AsyncSession, workspace_id: int, project_id: int | None = None) -> Limits:
    row = await (session.get(ProjectQuota, project_id) if project_id is not None
                 else session.get(WorkspaceQuota, workspace_id))
    if row is None:
        return Limits()
    return Limits(row.max_running_instances, row.max_gpus, row.max_hourly_spend)


def _gpus(value: Decimal) -> str:
    return f"{value.normalize():f}"


async def take_slot(session: AsyncSession, workspace_id: int, *, gpus: Decimal, hourly: Decimal | None,
                    action: str, project_id: int | None = None) -> None:
    """Refuse ``action`` (``QuotaReached``) if one more instance with ``gpus`` GPUs at ``hourly``
    $/h would exceed the workspace's quota or (``project_id``: the instance's project) the
    project's; call in the transaction that writes the launch intent."""
    hourly = hourly or Decimal(0)
    await _check(session, WorkspaceQuota, WorkspaceQuota.workspace_id == workspace_id, workspace_id, None,
                 gpus=gpus, hourly=hourly, action=action)
    if project_id is not None:
        await _check(session, ProjectQuota, ProjectQuota.project_id == project_id, workspace_id, project_id,
                     gpus=gpus, hourly=hourly, action=action)


async def _check(session: AsyncSession, model, key, workspace_id: int, project_id: int | None, *, gpus: Decimal,
                 hourly: Decimal, action: str) -> None:
    """Lock ``model``'s row (one UPDATE), then count what runs against it; no row, no limits."""
    locked = await session.execute(update(model).where(key).values(checks=model.checks + 1)
                                   .execution_options(synchronize_session=False))
    if locked.rowcount == 0:
        return  # no quotas set
    row = (await session.execute(select(model).where(key).execution_options(populate_existing=True))).scalar_one()
    used = await usage(session, workspace_id, project_id)
    whose = "this workspace's" if project_id is None else "this project's"
    if row.max_running_instances is not None and used.running + 1 > row.max_running_instances:
        raise QuotaReached(f"cannot {action}: {whose} quota of {row.max_running_instances} running "
                           f"instance{'' if row.max_running_instances == 1 else 's'} is reached "
                           f"({used.running} running or starting now)")
    if row.max_gpus is not None and used.gpus + gpus > row.max_gpus:
        raise QuotaReached(f"cannot {action}: {whose} quota of {row.max_gpus} GPUs would be exceeded "
                           f"({_gpus(used.gpus)} in use now, this needs {_gpus(gpus)})")
    if row.max_hourly_spend is not None and used.hourly + hourly > row.max_hourly_spend:
        raise QuotaReached(f"cannot {action}: {whose} quota of ${row.max_hourly_spend:,.2f} per hour "
                           f"would be exceeded (${used.hourly:,.2f}/h now, this adds ${hourly:,.2f}/h)")


def parse_count(raw: str | int | None, field: str) -> int | None:
    """"" / None -> no limit; a whole number from 0 to ``MAX_COUNT``."""
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 6) or int(text) > MAX_COUNT:
        raise QuotaError(f"{LABELS[field]}: enter a whole number from 0 to {MAX_COUNT:,}, or leave it empty for no limit")
    return int(text)


def parse_hourly(raw: str | None) -> Decimal | None:
    text = (raw or "").strip().replace("$", "").replace(",", "").strip()
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise QuotaError("$ per hour: enter dollars an hour, e.g. 25, or leave it empty for no limit") from None
    if not amount.is_finite() or not Decimal(0) <= amount <= MAX_HOURLY:
        raise QuotaError(f"$ per hour: enter an amount from $0 to ${MAX_HOURLY:,}, or leave it empty for no limit")
    return money(amount)


def _shown(limits: Limits) -> dict:
    return {"max_running_instances": limits.max_running_instances, "max_gpus": limits.max_gpus,
            "max_hourly_spend": limits.max_hourly_spend}


async def set_limits(session: AsyncSession, owner: Owner, limits: Limits, project_id: int | None = None) -> None:
    """Set the workspace's quotas, or (``project_id``) one of its projects' (another workspace's: 404);
    all None removes them; ``manage_quotas``; the caller commits. Lowering a quota under what runs
    stops nothing: it refuses the next launch."""
    scope = await resolve(session, owner)
    if project_id is not None:
        projects.require_org(scope)
        project_id = (await projects.get(session, scope, project_id)).id
    scope.require("manage_quotas")
    if project_id is None:
        row, new = await session.get(WorkspaceQuota, scope.workspace_id), WorkspaceQuota(workspace_id=scope.workspace_id)
    else:
        row, new = await session.get(ProjectQuota, project_id), ProjectQuota(project_id=project_id)
    before = await limits_of(session, scope.workspace_id, project_id)
    if not limits.any:
        if row is not None:
            await session.delete(row)
    elif row is None:
        new.checks, new.max_running_instances, new.max_gpus, new.max_hourly_spend = (
            0, limits.max_running_instances, limits.max_gpus, limits.max_hourly_spend)
        session.add(new)
    else:
        row.max_running_instances, row.max_gpus, row.max_hourly_spend = (
            limits.max_running_instances, limits.max_gpus, limits.max_hourly_spend)
    if before != limits:
        await audit.record(session, scope.audit_key, "quota.changed", await audit.actor_for(session, scope.user_id),
                           target_type="quota", target_id=f"project:{project_id}" if project_id else "workspace",
                           project=str(project_id or ""), before=_shown(before), after=_shown(limits))
    await session.flush()
