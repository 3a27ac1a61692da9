"""Cost warnings at 75, 90 and 95 % of the monthly budget, from costs the real accrual job wrote.

The month is the user's: a user in Tokyo (UTC+9) starts December at 15:00 UTC on 30 November."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.costs.accrual import accrue_costs
from app.db.models import BudgetAlert
from app.notifications import budgets
from app.notifications.budgets import check_budgets
from tests.costs.support import add_instance
from tests.notifications.conftest import BASE_URL, make_user, outbox

START = datetime(2026, 11, 30, 5, 0, tzinfo=timezone.utc)  # 14:00 in Tokyo, 30 November
TOKYO = "Asia/Tokyo"


async def set_budget(sessions, user_id: int, amount: str) -> None:
    async with sessions() as session, session.begin():
        await budgets.set_budget(session, user_id, Decimal(amount))


async def run_jobs(sessions, at: datetime) -> None:
    """What the scheduler's cost job does: accrue, then check the budgets."""
    await accrue_costs(sessions, now=at)
    await check_budgets(sessions, base_url=BASE_URL, telegram_enabled=False, now=at)


async def warnings(sessions) -> list[str]:
    return [m.subject for m in await outbox(sessions, event_type="cost_warning")]


async def test_each_threshold_once_a_month_and_a_new_month_rearms_them(sessions):
    user_id = await make_user(sessions, "alice@example.com", "pro", time_zone=TOKYO)
    await set_budget(sessions, user_id, "100")
    await add_instance(sessions, user_id, "train-1", [(START, "running", "10.00")])  # $10 an hour

    seen = []
    for hours in (7, 7.5, 8, 9, 9, 9.5, 9.75):
        await run_jobs(sessions, START + timedelta(hours=hours))
        seen.append(len(await warnings(sessions)))

    # $75 at 7.5 h, $90 at 9 h, $95 at 9.5 h; nothing in between and nothing twice.
    assert seen == [0, 1, 1, 2, 2, 3, 3]
    assert await warnings(sessions) == [
        "You have used 75% of your November 2026 budget",
        "You have used 90% of your November 2026 budget",
        "You have used 95% of your November 2026 budget",
    ]
    first = (await outbox(sessions, event_type="cost_warning"))[0]
    assert first.destination == "alice@example.com"
    assert "$75.00 of $100.00" in first.body_text and "$75.00" in first.body_html

    # 15:00 UTC is midnight in Tokyo: December starts from zero (in UTC it would still be November,
    # at $175 with every threshold long sent). 7.5 h into the Tokyo December: 75 % again.
    await run_jobs(sessions, START + timedelta(hours=10 + 7))
    assert len(await warnings(sessions)) == 3
    await run_jobs(sessions, START + timedelta(hours=10 + 7.5))
    assert (await warnings(sessions))[3:] == ["You have used 75% of your December 2026 budget"]
    async with sessions() as session:
        months = (await session.execute(select(BudgetAlert.month, BudgetAlert.threshold)
                                        .order_by(BudgetAlert.month, BudgetAlert.threshold))).all()
    assert months == [("2026-11", 75), ("2026-11", 90), ("2026-11", 95), ("2026-12", 75)]


async def test_a_jump_past_several_thresholds_sends_one_warning_naming_the_highest(sessions):
    user_id = await make_user(sessions, "alice@example.com", "pro")
    await add_instance(sessions, user_id, "big", [(START, "running", "96.00")])
    await set_budget(sessions, user_id, "100")

    await run_jobs(sessions, START + timedelta(hours=1))
    await run_jobs(sessions, START + timedelta(hours=1, minutes=15))

    assert await warnings(sessions) == ["You have used 95% of your November 2026 budget"]


async def test_no_budget_or_no_pro_plan_no_warning(sessions):
    basic = await make_user(sessions, "basic@example.com", "basic")
    pro = await make_user(sessions, "pro@example.com", "pro")
    await set_budget(sessions, basic, "10")
    for user_id in (basic, pro):
        await add_instance(sessions, user_id, f"box-{user_id}", [(START, "running", "10.00")])

    await run_jobs(sessions, START + timedelta(hours=5))

    assert await warnings(sessions) == []


@pytest.mark.parametrize("raw, expected", [("", None), ("  ", None), ("500", Decimal("500")),
                                           ("$1,250.50", Decimal("1250.5"))])
def test_budget_input(raw, expected):
    assert budgets.parse_budget(raw) == expected


@pytest.mark.parametrize("raw", ["0", "-5", "lots", "NaN", "Infinity", "20000000"])
def test_budget_input_refused(raw):
    with pytest.raises(budgets.BudgetError):
        budgets.parse_budget(raw)
