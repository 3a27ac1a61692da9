"""Monthly budgets per workspace (personal or organization) and the cost warnings at exactly 75, 90
and 95 % of them, told to the members who may set the budget (owner, admin, billing).

The month is the workspace's budget month (``app.workspaces.months``: a personal workspace's user's
local month, an organization's UTC month): this month's cost is the sum of the workspace's cost
records since that month's first midnight. Each threshold is told at most once a month: the
``BudgetAlert`` row (primary key workspace + month + threshold) and the messages are written in
one transaction, so a threshold is either recorded and queued, or neither. If the cost jumps past
several thresholds at once, they are all recorded and one message names the highest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import bindparam, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import audit
from app.db.models import Budget, BudgetEnforcement, CostRecord, User, Workspace, WorkspaceMember
from app.db.types import UTCDateTime, money, utcnow
from app.notifications.messages import send_event
from app.workspaces import roles
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

_RECORD = text(
    "INSERT INTO budget_alerts (workspace_id, month, threshold, sent_at) VALUES (:workspace_id, :month, :threshold, :now) "
    "ON CONFLICT (workspace_id, month, threshold) DO NOTHING"
).bindparams(bindparam("now", type_=UTCDateTime()))


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


async def get_budget(session: AsyncSession, workspace_id: int) -> Decimal | None:
    row = await session.get(Budget, workspace_id)
    return row.monthly_amount if row else None


def parse_grace(raw: str) -> int:
    """The hard limit's grace period in minutes, one of ``GRACE_CHOICES``."""
    raw = (raw or "").strip()
    if not raw:
        return DEFAULT_GRACE_MINUTES
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 5) or int(raw) not in GRACE_CHOICES:
        raise BudgetError("choose how long to wait before stopping: " + ", ".join(GRACE_CHOICES.values()))
    return int(raw)


def _shown(row: Budget | None) -> dict:
    if row is None:
        return {"monthly_amount": None}
    return {"monthly_amount": row.monthly_amount, "hard_limit": row.hard_limit, "grace_minutes": row.grace_minutes}


async def set_budget(session: AsyncSession, owner: Owner, amount: Decimal | None, *, hard_limit: bool = False,
                     grace_minutes: int = DEFAULT_GRACE_MINUTES, now: datetime | None = None) -> None:
    """Set or (with None) remove the workspace's budget (``manage_budgets``); the caller commits. A
    change that no longer holds this month's spending back (raised above it, made soft, removed)
    lifts the hard limit at once."""
    scope = await resolve(session, owner)
    scope.require("manage_budgets")
    row = await session.get(Budget, scope.workspace_id)
    before = _shown(row)
    if amount is None:
        if row is not None:
            await session.delete(row)
            row = None
    elif row is None:
        row = Budget(workspace_id=scope.workspace_id, monthly_amount=amount, hard_limit=hard_limit,
                     grace_minutes=grace_minutes)
        session.add(row)
    else:
        row.monthly_amount, row.hard_limit, row.grace_minutes = amount, hard_limit, grace_minutes
    after = _shown(row)
    if before != after:
        await audit.record(session, scope.audit_key, "budget.changed", await audit.actor_for(session, scope.user_id),
                           target_type="budget", target_id="monthly", before=before, after=after)
    await session.flush()
    await lift_if_allowed(session, scope.workspace_id, row, now or utcnow())


async def lift_if_allowed(session: AsyncSession, workspace_id: int, budget: Budget | None, now: datetime) -> bool:
    """Remove this month's hard-limit enforcement when the budget no longer holds the spending back
    (``app.console.spending_guard`` then lets launches and starts through); the caller commits."""
    spend = await month_spend(session, workspace_id, now)
    if budget is not None and budget.hard_limit and spend.spent >= budget.monthly_amount:
        return False
    result = await session.execute(delete(BudgetEnforcement).where(
        BudgetEnforcement.workspace_id == workspace_id, BudgetEnforcement.month == spend.month))
    return result.rowcount > 0


async def enforcement(session: AsyncSession, workspace_id: int, now: datetime) -> BudgetEnforcement | None:
    """This month's open hard-limit enforcement, if any."""
    return await session.get(BudgetEnforcement, (workspace_id, (await month_spend(session, workspace_id, now)).month))


@dataclass(frozen=True)
class MonthSpend:
    month: str
    """``YYYY-MM`` of the workspace's budget month"""
    label: str
    spent: Decimal


async def month_spend(session: AsyncSession, workspace_id: int, now: datetime) -> MonthSpend:
    zone = await budget_zone(session, workspace_id)
    first: date = month_start(local_today(zone, now))
    since = local_midnight(zone, first)
    spent = (await session.execute(select(func.sum(CostRecord.amount)).where(
        CostRecord.workspace_id == workspace_id, CostRecord.period_start >= since))).scalar_one()
    return MonthSpend(f"{first:%Y-%m}", f"{first:%B %Y}", money(spent or 0))


def reached(spent: Decimal, budget: Decimal) -> list[int]:
    return [t for t in THRESHOLDS if spent * 100 >= budget * t]


async def recipients(session: AsyncSession, workspace_id: int) -> list[int]:
    """Who is told about a workspace's budget: its members whose role may set it (owner, admin,
    billing; a personal workspace's owner), accounts not deleted."""
    rows = await session.execute(
        select(WorkspaceMember.user_id, WorkspaceMember.role).join(User, User.id == WorkspaceMember.user_id)
        .where(WorkspaceMember.workspace_id == workspace_id, User.deleted_at.is_(None)).order_by(WorkspaceMember.user_id))
    return [user_id for user_id, role in rows if roles.allows(role, "manage_budgets")]


async def message_context(session: AsyncSession, workspace_id: int, base_url: str) -> dict:
    """What budget messages name besides the amounts: whose budget, and the page to change it."""
    workspace = await session.get(Workspace, workspace_id)
    whose = "your" if workspace is None or workspace.personal_user_id is not None else f"the {workspace.name} organization's"
    # An organization's plan (it has one, or it would not exist) pays for its members' messages.
    return {"whose": whose, "budget_url": base_url.rstrip("/") + BUDGET_PATH,
            "plan_checked": workspace is not None and workspace.personal_user_id is None}


async def check_workspace_budget(session: AsyncSession, workspace_id: int, budget: Decimal, *, base_url: str,
                                 telegram_enabled: bool, now: datetime) -> int | None:
    """Record the thresholds newly reached this month and queue one warning to each recipient;
    returns its threshold."""
    spend = await month_spend(session, workspace_id, now)
    new = []
    for threshold in reached(spend.spent, budget):
        inserted = await session.execute(_RECORD, {"workspace_id": workspace_id, "month": spend.month,
                                                   "threshold": threshold, "now": now})
        if inserted.rowcount == 1:
            new.append(threshold)
    if not new:
        return None
    top = max(new)
    context = await message_context(session, workspace_id, base_url)
    for user_id in await recipients(session, workspace_id):
        await send_event(session, user_id, "cost_warning", base_url=base_url, telegram_enabled=telegram_enabled,
                         dedupe_key=f"budget:ws{workspace_id}:{spend.month}:{top}:{user_id}", now=now, threshold=top,
                         spent=spend.spent, budget=budget, month_label=spend.label, **context)
    return top


async def check_budgets(sessions: async_sessionmaker[AsyncSession], *, base_url: str, telegram_enabled: bool,
                        now: datetime | None = None) -> int:
    """The scheduler job (after cost accrual): each budget in its own short transaction."""
    now = now or utcnow()
    async with sessions() as session:
        workspace_ids = list((await session.execute(select(Budget.workspace_id).order_by(Budget.workspace_id))).scalars())
    warned = 0
    for workspace_id in workspace_ids:
        try:
            async with sessions() as session, session.begin():
                budget = await get_budget(session, workspace_id)
                if budget is None:
                    continue
                if await check_workspace_budget(session, workspace_id, budget, base_url=base_url,
                                                telegram_enabled=telegram_enabled, now=now) is not None:
                    warned += 1
        except Exception:  # noqa: BLE001 - one workspace's problem must not stop the others' warnings
            log.exception("checking the budget of workspace %s failed", workspace_id)
    return warned
