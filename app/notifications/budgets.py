"""Monthly budgets and the cost warnings at 75, 90 and 95 % of them.

The month is the user's own (``User.timezone``), like the cost pages: this month's cost is the sum
of the user's cost records since local midnight on the 1st. Each threshold is told at most once a
month: the ``BudgetAlert`` row (primary key user + month + threshold) and the message are written
in one transaction, so a threshold is either recorded and queued, or neither. If the cost jumps
past several thresholds at once, they are all recorded and one message names the highest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import bindparam, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import audit
from app.db.models import Budget, BudgetEnforcement, CostRecord, User, Workspace
from app.db.types import UTCDateTime, money, utcnow
from app.notifications.messages import send_event
from app.web.localtime import user_zone
from dashboards.local_days import local_midnight, local_today, month_start

log = logging.getLogger(__name__)
THRESHOLDS = (75, 90, 95)
MIN_BUDGET = Decimal("0.01")
"""A cent: less rounds to $0.00, and every warning would fire at once."""
MAX_BUDGET = Decimal(10_000_000)
GRACE_CHOICES = {15: "15 minutes", 60: "1 hour", 240: "4 hours", 1440: "24 hours"}
"""How long after the 100 % notice a hard limit stops the running instances."""
DEFAULT_GRACE_MINUTES = 60

_RECORD = text(
    "INSERT INTO budget_alerts (user_id, month, threshold, sent_at) VALUES (:user_id, :month, :threshold, :now) "
    "ON CONFLICT (user_id, month, threshold) DO NOTHING"
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


async def get_budget(session: AsyncSession, user_id: int) -> Decimal | None:
    row = await session.get(Budget, user_id)
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


async def set_budget(session: AsyncSession, user_id: int, amount: Decimal | None, *, hard_limit: bool = False,
                     grace_minutes: int = DEFAULT_GRACE_MINUTES, now: datetime | None = None) -> None:
    """Set or (with None) remove the budget; the caller commits. A change that no longer holds this
    month's spending back (raised above it, made soft, removed) lifts the hard limit at once."""
    row = await session.get(Budget, user_id)
    before = _shown(row)
    if amount is None:
        if row is not None:
            await session.delete(row)
            row = None
    elif row is None:
        row = Budget(user_id=user_id, monthly_amount=amount, hard_limit=hard_limit, grace_minutes=grace_minutes)
        session.add(row)
    else:
        row.monthly_amount, row.hard_limit, row.grace_minutes = amount, hard_limit, grace_minutes
    after = _shown(row)
    if before != after:
        await audit.record(session, audit.personal(user_id), "budget.changed", await audit.actor_for(session, user_id),
                           target_type="budget", target_id="monthly", before=before, after=after)
    await session.flush()
    user = await session.get(User, user_id)
    if user is not None:
        await lift_if_allowed(session, user, row, now or utcnow())


async def lift_if_allowed(session: AsyncSession, user: User, budget: Budget | None, now: datetime) -> bool:
    """Remove this month's hard-limit enforcement when the budget no longer holds the spending back
    (``app.console.spending_guard`` then lets launches and starts through); the caller commits."""
    spend = await month_spend(session, user, now)
    if budget is not None and budget.hard_limit and spend.spent >= budget.monthly_amount:
        return False
    result = await session.execute(delete(BudgetEnforcement).where(
        BudgetEnforcement.user_id == user.id, BudgetEnforcement.month == spend.month))
    return result.rowcount > 0


async def enforcement(session: AsyncSession, user: User, now: datetime) -> BudgetEnforcement | None:
    """This month's open hard-limit enforcement, if any."""
    return await session.get(BudgetEnforcement, (user.id, (await month_spend(session, user, now)).month))


@dataclass(frozen=True)
class MonthSpend:
    month: str
    """``YYYY-MM`` of the user's local month"""
    label: str
    spent: Decimal


async def month_spend(session: AsyncSession, user: User, now: datetime) -> MonthSpend:
    zone = user_zone(user)
    first: date = month_start(local_today(zone, now))
    since = local_midnight(zone, first)
    personal_workspace = select(Workspace.id).where(Workspace.personal_user_id == user.id)
    spent = (await session.execute(select(func.sum(CostRecord.amount)).where(
        # A budget is personal: the personal workspace's costs (an organization's are not the user's bill).
        CostRecord.workspace_id == personal_workspace.scalar_subquery(), CostRecord.period_start >= since))).scalar_one()
    return MonthSpend(f"{first:%Y-%m}", f"{first:%B %Y}", money(spent or 0))


def reached(spent: Decimal, budget: Decimal) -> list[int]:
    return [t for t in THRESHOLDS if spent * 100 >= budget * t]


async def check_user_budget(session: AsyncSession, user: User, budget: Decimal, *, base_url: str,
                            telegram_enabled: bool, now: datetime) -> int | None:
    """Record the thresholds newly reached this month and queue one warning; returns its threshold."""
    spend = await month_spend(session, user, now)
    new = []
    for threshold in reached(spend.spent, budget):
        inserted = await session.execute(_RECORD, {"user_id": user.id, "month": spend.month,
                                                   "threshold": threshold, "now": now})
        if inserted.rowcount == 1:
            new.append(threshold)
    if not new:
        return None
    top = max(new)
    await send_event(session, user.id, "cost_warning", base_url=base_url, telegram_enabled=telegram_enabled,
                     dedupe_key=f"budget:{user.id}:{spend.month}:{top}", now=now, threshold=top,
                     spent=spend.spent, budget=budget, month_label=spend.label)
    return top


async def check_budgets(sessions: async_sessionmaker[AsyncSession], *, base_url: str, telegram_enabled: bool,
                        now: datetime | None = None) -> int:
    """The scheduler job (after cost accrual): each budget in its own short transaction."""
    now = now or utcnow()
    async with sessions() as session:
        user_ids = list((await session.execute(select(Budget.user_id).order_by(Budget.user_id))).scalars())
    warned = 0
    for user_id in user_ids:
        try:
            async with sessions() as session, session.begin():
                user, budget = await session.get(User, user_id), await get_budget(session, user_id)
                if user is None or budget is None:
                    continue
                if await check_user_budget(session, user, budget, base_url=base_url,
                                           telegram_enabled=telegram_enabled, now=now) is not None:
                    warned += 1
        except Exception:  # noqa: BLE001 - one account's problem must not stop the others' warnings
            log.exception("checking the budget of user %s failed", user_id)
    return warned
