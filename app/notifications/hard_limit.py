"""A budget's hard limit: at 100 % of a hard-limited monthly budget, a notice naming when the running
instances will be stopped; after the grace period they are stopped (never deleted) and a second
notice lists them; launching and starting are refused meanwhile (``app.console.spending_guard``).
Raising the budget above the spending, making it soft or removing it lifts the limit at once.

Per workspace (personal or organization): the notices go to the members who may set the budget,
and only that workspace's instances are stopped. A project's hard limit (``budget_targets.Target``)
stops only the instances assigned to that project; the organization's other projects run on. Runs after every cost accrual, once per workspace
per pass. The notice and the enforcement row are
written in one transaction (at most one notice a month); the stops are provider calls, made with no
transaction open, each through the console's own stop (its claim makes a second worker's stop of
the same instance a no-op); an instance that could not be stopped is tried again on the next pass.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import audit
from app.console.errors import ConsoleError
from app.console.instances import perform
from app.db.models import Budget, Instance, ProjectBudget, User, Workspace
from app.db.types import utcnow
from app.notifications.budget_targets import Target, all_targets
from app.notifications.budgets import lift_if_allowed, message_context, month_spend, recipients
from app.notifications.messages import send_event
from app.security.keyring import Keyring
from app.web.localtime import localtime
from app.workspaces.organizations import owner_of
from app.workspaces.scope import Scope, on_behalf_of

log = logging.getLogger(__name__)
MAX_GRACE_MINUTES = 7 * 24 * 60
BUDGET = audit.Actor(None, "budget hard limit")
"""Who the audit log names for the stops."""


@dataclass(frozen=True)
class Outcome:
    noticed: int = 0
    stopped: int = 0


@dataclass(frozen=True)
class Due:
    month: str
    noticed: bool
    """This pass opened the enforcement and queued the notice."""
    to_stop: list[int]
    """Running instances to stop now: empty while the grace period runs."""


async def _tell(session: AsyncSession, target: Target, *, key: str, base_url: str, telegram_enabled: bool,
                now: datetime, stop_at: datetime, **context) -> None:
    """One budget_limit message to each recipient, the time in their own zone."""
    context.update(await message_context(session, target, base_url))
    for user_id in await recipients(session, target):
        await send_event(session, user_id, "budget_limit", base_url=base_url, telegram_enabled=telegram_enabled,
                         dedupe_key=f"{key}:{user_id}", now=now, stop_at=localtime(stop_at, await session.get(User, user_id)),
                         **context)


async def _notice_or_due(session: AsyncSession, target: Target, budget: Budget | ProjectBudget, *, base_url: str,
                         telegram_enabled: bool, now: datetime) -> Due | None:
    """None when under the limit (lifting it if it was open)."""
    if await lift_if_allowed(session, target, budget, now):
        return None
    spend = await month_spend(session, target, now)
    if spend.spent < budget.monthly_amount:
        return None
    row = await target.enforcement(session, spend.month)
    noticed = row is None
    if row is None:
        row = target.new_enforcement(spend.month, noticed_at=now, stop_due_at=now + timedelta(minutes=budget.grace_minutes),
                                     stopped_count=0)
        session.add(row)
        await session.flush()  # the primary key: a concurrent pass fails here instead of noticing twice
        await _tell(session, target, key=f"budget-limit:{target.key}:{spend.month}:notice", base_url=base_url,
                    telegram_enabled=telegram_enabled, now=now, stop_at=row.stop_due_at, phase="notice",
                    spent=spend.spent, budget=budget.monthly_amount, month_label=spend.label, instance_names=[])
    if now < row.stop_due_at:
        return Due(spend.month, noticed, [])
    # Only this budget's instances: another workspace's (or project's) budget is its own.
    running = (await session.execute(select(Instance.id).where(
        target.instances(), Instance.status == "running").order_by(Instance.id))).scalars().all()
    return Due(spend.month, noticed, list(running))


async def _acting_scope(session: AsyncSession, workspace_id: int) -> Scope:
    """The stops run in the workspace as its owner would (the audit log names the hard limit)."""
    workspace = await session.get(Workspace, workspace_id)
    user_id = workspace.personal_user_id or await owner_of(session, workspace_id)
    return await on_behalf_of(session, workspace_id, user_id)


async def _stop_all(sessions, keyring: Keyring, http: httpx.AsyncClient, scope: Scope, ids: list[int]) -> list[str]:
    names = []
    for instance_id in ids:  # provider calls: no transaction open
        try:
            names.append((await perform(sessions, keyring, http, scope, instance_id, "stop", actor=BUDGET)).name)
        except ConsoleError as exc:  # stopped meanwhile, or the provider failed: the next pass tries again
            log.info("budget hard limit: stopping instance %s of workspace %s: %s", instance_id, scope.workspace_id, exc)
    return names


async def _record_stops(session: AsyncSession, target: Target, month: str, names: list[str], *, base_url: str,
                        telegram_enabled: bool, now: datetime) -> int:
    row = await target.enforcement(session, month)
    if row is None or not names:  # lifted meanwhile, or nothing stopped on this pass
        return 0
    row.stopped_at = row.stopped_at or now
    row.stopped_count += len(names)
    budget = await target.budget(session)
    spend = await month_spend(session, target, now)
    await _tell(session, target, key=f"budget-limit:{target.key}:{month}:stopped:{row.stopped_count}",
                base_url=base_url, telegram_enabled=telegram_enabled, now=now, stop_at=now, phase="stopped",
                spent=spend.spent, budget=budget.monthly_amount if budget else Decimal(0), month_label=spend.label,
                instance_names=names)
    return len(names)


async def enforce_hard_limits(sessions: async_sessionmaker[AsyncSession], keyring: Keyring, http: httpx.AsyncClient,
                              *, base_url: str, telegram_enabled: bool, now: datetime | None = None) -> Outcome:
    now = now or utcnow()
    async with sessions() as session:
        targets = await all_targets(session, hard_only=True)
    noticed = stopped = 0
    for target in targets:  # the workspaces' first: a workspace's stop covers its projects' instances too
        try:
            async with sessions() as session, session.begin():
                budget = await target.budget(session)
                if budget is None or not budget.hard_limit:
                    continue
                due = await _notice_or_due(session, target, budget, base_url=base_url,
                                           telegram_enabled=telegram_enabled, now=now)
                scope = await _acting_scope(session, target.workspace_id) if due is not None and due.to_stop else None
            if due is None:
                continue
            noticed += due.noticed
            names = await _stop_all(sessions, keyring, http, scope, due.to_stop) if scope is not None else []
            if names:
                async with sessions() as session, session.begin():
                    stopped += await _record_stops(session, target, due.month, names, base_url=base_url,
                                                   telegram_enabled=telegram_enabled, now=now)
        except Exception:  # noqa: BLE001 - one budget's problem must not stop the others'
            log.exception("enforcing the budget hard limit %s failed", target)
    return Outcome(noticed=noticed, stopped=stopped)
