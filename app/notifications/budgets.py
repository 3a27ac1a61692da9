"""Monthly budgets per workspace (personal or organization) and per organization project
(``budget_targets.Target``), and the cost warnings at exactly 75, 90
and 95 % of them, told to the members who may set the budget (owner, admin, billing).

The month is the workspace's budget month (``app.workspaces.months``: a personal workspace's user's
local month, an organization's UTC month): this month's cost is the sum of the workspace's cost
records since that month's first midnight. Each threshold is told at most once a month: the
``BudgetAlert`` row (primary key workspace + month + threshold) and the messages are written in
one transaction, so a threshold is either recorded and queued, or neither. If the cost jumps past
several thresholds at once, they are all recorded and one message names the highest. A project's
budget counts the cost records assigned to it in the organization's month, and is told to the same
members (less those limited to other projects).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import audit
from app.db.models import Budget, CostRecord, Project, ProjectBudget, ProjectMember, User, Workspace, WorkspaceMember
from app.db.types import money, utcnow
from app.notifications.budget_targets import Target, all_targets
from app.notifications.messages import send_event
from app.workspaces import projects, roles
from app.workspaces.months import budget_zone
from app.workspaces.scope import Owner, resolve
from dashboards.local_days import local_midnight, local_today, month_start

BUDGET_PATH = "/console/budget"

log = logging.getLogger(__name__)
THRESHOLDS = (75, 90, 95)
MIN_BUDGET = Decimal("0.01")
"""A cent: less rounds to $0.00, and every warning would fire at once."""
MAX_BUDGET = Decimal(10_000_000)
GRACE_CHOICES = {15: "15 minutes", 60: "1 hour", 240: "4 hours", 1440: "24 hours"}
"""How long after the 100 % notice a hard limit stops the running instances."""
DEFAULT_GRACE_MINUTES = 60


class BudgetError(ValueError):
    """A budget the form cannot take; the message is shown to the user."""


def parse_budget(raw: str) -> Decimal | None:
    """"" -> no budget; "500" or "$1,250.50" -> Decimal dollars a month."""
    raw = (raw or "").strip().replace("$", "").replace(",", "").strip()
    if not raw:
        return None
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise BudgetError("enter the monthly budget in dollars, e.g. 500") from None
    # is_finite first: NaN compares by raising. Checked before rounding: $0.004 is not $0.00.
    if not amount.is_finite() or not MIN_BUDGET <= amount <= MAX_BUDGET:
        raise BudgetError(f"the monthly budget must be between ${MIN_BUDGET} and ${MAX_BUDGET:,}")
    return money(amount)


async def get_budget(session: AsyncSession, target: int | Target) -> Decimal | None:
    row = await Target.of(target).budget(session)
    return row.monthly_amount if row else None


def parse_grace(raw: str) -> int:
    """The hard limit's grace period in minutes, one of ``GRACE_CHOICES``."""
    raw = (raw or "").strip()
    if not raw:
        return DEFAULT_GRACE_MINUTES
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 5) or int(raw) not in GRACE_CHOICES:
        raise BudgetError("choose how long to wait before stopping: " + ", ".join(GRACE_CHOICES.values()))
    return int(raw)


def _shown(row: Budget | ProjectBudget | None) -> dict:
    if row is None:
        return {"monthly_amount": None}
    return {"monthly_amount": row.monthly_amount, "hard_limit": row.hard_limit, "grace_minutes": row.grace_minutes}


async def target_of(session: AsyncSession, scope, project_id: int | None) -> Target:
    """The workspace's budget, or (``project_id``) one of its projects' (another workspace's: 404)."""
    if project_id is None:
        return Target(scope.workspace_id)
    projects.require_org(scope)
    return Target(scope.workspace_id, (await projects.get(session, scope, project_id)).id)


async def set_budget(session: AsyncSession, owner: Owner, amount: Decimal | None, *, hard_limit: bool = False,
                     grace_minutes: int = DEFAULT_GRACE_MINUTES, now: datetime | None = None,
                     project_id: int | None = None) -> None:
    """Set or (with None) remove the workspace's budget, or a project's (``manage_budgets``); the
    caller commits. A change that no longer holds this month's spending back (raised above it, made
    soft, removed) lifts the hard limit at once."""
    scope = await resolve(session, owner)
    target = await target_of(session, scope, project_id)
    scope.require("manage_budgets")
    row = await target.budget(session)
    before = _shown(row)
    if amount is None:
        if row is not None:
            await session.delete(row)
            row = None
    elif row is None:
        row = target.new_budget(monthly_amount=amount, hard_limit=hard_limit, grace_minutes=grace_minutes)
        session.add(row)
    else:
        row.monthly_amount, row.hard_limit, row.grace_minutes = amount, hard_limit, grace_minutes
    after = _shown(row)
    if before != after:
        await audit.record(session, scope.audit_key, "budget.changed", await audit.actor_for(session, scope.user_id),
                           target_type="budget", target_id=f"project:{project_id}" if project_id else "monthly",
                           project=str(project_id or ""), before=before, after=after)
    await session.flush()
    await lift_if_allowed(session, target, row, now or utcnow())


async def lift_if_allowed(session: AsyncSession, target: int | Target, budget: Budget | ProjectBudget | None,
                          now: datetime) -> bool:
    """Remove this month's hard-limit enforcement when the budget no longer holds the spending back
    (``app.console.spending_guard`` then lets launches and starts through); the caller commits."""
    target = Target.of(target)
    spend = await month_spend(session, target, now)
    if budget is not None and budget.hard_limit and spend.spent >= budget.monthly_amount:
        return False
    return await target.lift(session, spend.month)


async def enforcement(session: AsyncSession, target: int | Target, now: datetime):
    """This month's open hard-limit enforcement, if any."""
    target = Target.of(target)
    return await target.enforcement(session, (await month_spend(session, target, now)).month)


@dataclass(frozen=True)
class MonthSpend:
    month: str
    """``YYYY-MM`` of the workspace's budget month"""
    label: str
    spent: Decimal


async def month_spend(session: AsyncSession, target: int | Target, now: datetime) -> MonthSpend:
    target = Target.of(target)
    zone = await budget_zone(session, target.workspace_id)
    first: date = month_start(local_today(zone, now))
    since = local_midnight(zone, first)
    spent = (await session.execute(select(func.sum(CostRecord.amount)).where(
        target.costs(), CostRecord.period_start >= since))).scalar_one()
    return MonthSpend(f"{first:%Y-%m}", f"{first:%B %Y}", money(spent or 0))


def reached(spent: Decimal, budget: Decimal) -> list[int]:
    return [t for t in THRESHOLDS if spent * 100 >= budget * t]


async def _limited_elsewhere(session: AsyncSession, target: Target) -> set[int]:
    """Members limited to projects, none of them this one: a project's budget is not theirs."""
    rows = await session.execute(select(ProjectMember.user_id, ProjectMember.project_id).join(
        Project, Project.id == ProjectMember.project_id).where(Project.workspace_id == target.workspace_id))
    limited, here = set(), set()
    for user_id, project_id in rows:
        limited.add(user_id)
        if project_id == target.project_id:
            here.add(user_id)
    return limited - here


async def recipients(session: AsyncSession, target: int | Target) -> list[int]:
    """Who is told about a budget: the workspace's members whose role may set it (owner, admin,
    billing; a personal workspace's owner), accounts not deleted; for a project's, not the members
    limited to other projects."""
    target = Target.of(target)
    rows = await session.execute(
        select(WorkspaceMember.user_id, WorkspaceMember.role).join(User, User.id == WorkspaceMember.user_id)
        .where(WorkspaceMember.workspace_id == target.workspace_id, User.deleted_at.is_(None))
        .order_by(WorkspaceMember.user_id))
    skip = await _limited_elsewhere(session, target) if target.is_project else set()
    return [user_id for user_id, role in rows if roles.allows(role, "manage_budgets") and user_id not in skip]


async def message_context(session: AsyncSession, target: int | Target, base_url: str) -> dict:
    """What budget messages name besides the amounts: whose budget, and the page to change it."""
    target = Target.of(target)
    workspace = await session.get(Workspace, target.workspace_id)
    whose = "your" if workspace is None or workspace.personal_user_id is not None else f"the {workspace.name} organization's"
    url = base_url.rstrip("/") + BUDGET_PATH
    if target.is_project:
        project = await session.get(Project, target.project_id)
        whose = f"the {project.name if project else 'project'} project's ({workspace.name if workspace else ''})"
        url += f"?project={target.project_id}"
    # An organization's plan (it has one, or it would not exist) pays for its members' messages.
    return {"whose": whose, "budget_url": url,
            "plan_checked": workspace is not None and workspace.personal_user_id is None}


async def check_workspace_budget(session: AsyncSession, target: int | Target, budget: Decimal, *, base_url: str,
                                 telegram_enabled: bool, now: datetime) -> int | None:
    """Record the thresholds newly reached this month and queue one warning to each recipient;
    returns its threshold. ``target``: a workspace id or a project's ``Target``."""
    target = Target.of(target)
    spend = await month_spend(session, target, now)
    new = [t for t in reached(spend.spent, budget) if await target.record_alert(session, spend.month, t, now)]
    if not new:
        return None
    top = max(new)
    context = await message_context(session, target, base_url)
    for user_id in await recipients(session, target):
        await send_event(session, user_id, "cost_warning", base_url=base_url, telegram_enabled=telegram_enabled,
                         dedupe_key=f"budget:{target.key}:{spend.month}:{top}:{user_id}", now=now, threshold=top,
                         spent=spend.spent, budget=budget, month_label=spend.label, **context)
    return top


async def check_budgets(sessions: async_sessionmaker[AsyncSession], *, base_url: str, telegram_enabled: bool,
                        now: datetime | None = None) -> int:
    """The scheduler job (after cost accrual): each budget (workspaces', then projects') in its own
    short transaction."""
    now = now or utcnow()
    async with sessions() as session:
        targets = await all_targets(session)
    warned = 0
    for target in targets:
        try:
            async with sessions() as session, session.begin():
                budget = await get_budget(session, target)
                if budget is None:
                    continue
                if await check_workspace_budget(session, target, budget, base_url=base_url,
                                                telegram_enabled=telegram_enabled, now=now) is not None:
                    warned += 1
        except Exception:  # noqa: BLE001 - one budget's problem must not stop the others' warnings
            log.exception("checking the budget %s failed", target)
    return warned
