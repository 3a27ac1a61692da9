"""A budget's hard limit on the sandbox, with the clock moved by hand: at 100 % one notice, after the
grace period the running instances are stopped once (never deleted) with a second notice, launching
and starting are refused meanwhile, and raising the budget lets them start again."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.console.instances import LaunchSpec, launch, perform
from app.console.spending_guard import SpendingLimitReached
from app.console.sync import sync_binding
from app.costs.accrual import accrue_costs
from app.db.models import AuditEvent, Budget, BudgetEnforcement, Instance
from app.db.types import utcnow
from app.notifications import budgets
from app.notifications.budgets import month_spend
from app.workspaces.scope import personal_workspace_id
from tests.console.conftest import alice, app, as_alice, bob, clock, cloud, http, keyring, settings  # noqa: F401 - fixtures
from tests.notifications.conftest import outbox

PRICE = Decimal("2.00")


def spec(account, name: str) -> LaunchSpec:
    return LaunchSpec(binding_id=account.binding_id, name=name, instance_type="sbx.rtx4090.1x",
                      region="sandbox-eu-1", offer_price_per_hour=PRICE)


async def statuses(sessions, user_id: int) -> dict[str, str]:
    async with sessions() as session:
        rows = (await session.execute(select(Instance.name, Instance.status).where(Instance.user_id == user_id))).all()
    return dict(rows)


async def spent(sessions, user_id: int, at) -> Decimal:
    async with sessions() as session:
        return (await month_spend(session, await personal_workspace_id(session, user_id), at)).spent


async def set_budget(sessions, user_id: int, amount: Decimal, *, hard: bool = True, grace: int = 60, at=None) -> None:
    async with sessions() as session, session.begin():
        await budgets.set_budget(session, user_id, amount, hard_limit=hard, grace_minutes=grace, now=at)


async def two_running(sessions, keyring, http, clock, account) -> list[int]:
    ids = [(await launch(sessions, keyring, http, account.user_id, spec(account, name))).id for name in ("a-1", "a-2")]
    clock.advance(21)
    await sync_binding(sessions, keyring, http, account.binding_id)
    assert set((await statuses(sessions, account.user_id)).values()) == {"running"}
    return ids


async def test_crossing_the_limit_notices_then_stops_once_and_a_raise_lifts_it(
        sessions, keyring, http, cloud, clock, alice, bob, enforce):
    ids = await two_running(sessions, keyring, http, clock, alice)
    bobs = (await launch(sessions, keyring, http, bob.user_id, spec(bob, "bobs-box"))).id
    clock.advance(21)
    await sync_binding(sessions, keyring, http, bob.binding_id)
    t0 = utcnow()
    # The budget is reached between one and two hours from now: two instances at $2.00/h.
    await accrue_costs(sessions, now=t0 + timedelta(hours=1))
    budget = (await spent(sessions, alice.user_id, t0 + timedelta(hours=1)) * Decimal("1.5")).quantize(Decimal("0.01"))
    await set_budget(sessions, alice.user_id, budget, grace=60)
    await set_budget(sessions, bob.user_id, Decimal("1000"))  # far away: Bob is never touched

    outcome = await enforce(t0 + timedelta(hours=1))
    assert outcome.noticed == 0 and await outbox(sessions, event_type="budget_limit") == []

    crossed = t0 + timedelta(hours=2)
    assert (await enforce(crossed)).noticed == 1
    notices = await outbox(sessions, event_type="budget_limit")
    assert [m.user_id for m in notices] == [alice.user_id] and "running instances stop at" in notices[0].subject
    # The grace period: nothing stops, but nothing new may start billing either.
    assert (await enforce(crossed + timedelta(minutes=30))).stopped == 0
    assert set((await statuses(sessions, alice.user_id)).values()) == {"running"}
    with pytest.raises(SpendingLimitReached):
        await launch(sessions, keyring, http, alice.user_id, spec(alice, "a-3"))
    assert "a-3" not in await statuses(sessions, alice.user_id)

    # Once the grace period is over: both stopped, once, with one notice naming them.
    assert (await enforce(crossed + timedelta(minutes=60))).stopped == 2
    assert (await statuses(sessions, alice.user_id)) == {"a-1": "stopping", "a-2": "stopping"}
    clock.advance(6)
    await sync_binding(sessions, keyring, http, alice.binding_id)
    assert (await statuses(sessions, alice.user_id)) == {"a-1": "stopped", "a-2": "stopped"}
    assert sorted(i["status"] for i in cloud.list_instances(alice.api_key)) == ["stopped", "stopped"]  # not deleted
    for later in (61, 75, 120):
        outcome = await enforce(crossed + timedelta(minutes=later))
        assert outcome.stopped == 0 and outcome.noticed == 0
    messages = await outbox(sessions, event_type="budget_limit")
    assert len(messages) == 2 and "Stopped 2 instances" in messages[1].subject
    assert "a-1" in messages[1].body_text and "a-2" in messages[1].body_text
    assert (await statuses(sessions, bob.user_id)) == {"bobs-box": "running"}
    async with sessions() as session:
        stops = (await session.execute(select(AuditEvent.actor).where(AuditEvent.action == "instance.stop"))).scalars().all()
    assert stops == ["budget hard limit", "budget hard limit"]

    # Starting is refused while the limit holds...
    for instance_id in ids:
        with pytest.raises(SpendingLimitReached, match="hard limit"):
            await perform(sessions, keyring, http, alice.user_id, instance_id, "start")
    # ...and a raise above the spending lifts it at once.
    await set_budget(sessions, alice.user_id, budget * 10, at=crossed + timedelta(minutes=75))
    async with sessions() as session:
        assert (await session.execute(select(BudgetEnforcement))).scalars().all() == []
    for instance_id in ids:
        assert (await perform(sessions, keyring, http, alice.user_id, instance_id, "start")).status == "provisioning"
    assert bobs


async def test_a_soft_budget_never_stops_anything(sessions, keyring, http, cloud, clock, alice, enforce):
    await two_running(sessions, keyring, http, clock, alice)
    t0 = utcnow()
    await set_budget(sessions, alice.user_id, Decimal("0.01"), hard=False)
    for hours in (1, 3, 30):
        assert await enforce(t0 + timedelta(hours=hours)) == type(await enforce(t0))()
    assert set((await statuses(sessions, alice.user_id)).values()) == {"running"}
    assert await outbox(sessions, event_type="budget_limit") == []
    await launch(sessions, keyring, http, alice.user_id, spec(alice, "a-3"))  # nothing refused


async def test_switching_the_hard_limit_off_lifts_it(sessions, keyring, http, cloud, clock, alice, enforce):
    await two_running(sessions, keyring, http, clock, alice)
    t0 = utcnow()
    await set_budget(sessions, alice.user_id, Decimal("0.01"), grace=15)
    assert (await enforce(t0 + timedelta(hours=1))).noticed == 1
    with pytest.raises(SpendingLimitReached):
        await launch(sessions, keyring, http, alice.user_id, spec(alice, "a-3"))
    await set_budget(sessions, alice.user_id, Decimal("0.01"), hard=False, at=t0 + timedelta(hours=1, minutes=5))
    assert (await enforce(t0 + timedelta(hours=2))).stopped == 0
    assert set((await statuses(sessions, alice.user_id)).values()) == {"running"}
    await launch(sessions, keyring, http, alice.user_id, spec(alice, "a-3"))


@pytest.mark.parametrize("raw, expected", [("", 60), ("15", 15), ("1440", 1440)])
def test_grace_choices(raw, expected):
    assert budgets.parse_grace(raw) == expected


@pytest.mark.parametrize("raw", ["0", "61", "-15", "abc", "9" * 40])
def test_grace_outside_the_choices_is_refused(raw):
    with pytest.raises(budgets.BudgetError):
        budgets.parse_grace(raw)


async def test_the_budget_form_sets_and_clears_the_hard_limit(sessions, keyring, http, cloud, clock, alice, as_alice,
                                                               enforce):
    response = await as_alice.post("/settings/notifications/budget",
                                   {"monthly_budget": "0.01", "hard_limit": "on", "grace_minutes": "15"})
    assert response.status_code == 200
    async with sessions() as session:
        row = await session.get(Budget, await personal_workspace_id(session, alice.user_id))
        assert (row.monthly_amount, row.hard_limit, row.grace_minutes) == (Decimal("0.01"), True, 15)
    doc = await as_alice.page("/settings/notifications")
    assert doc.one("input", name="hard_limit").get("checked") is not None
    assert doc.one("select", name="grace_minutes").one("option", value="15").get("selected") is not None

    await two_running(sessions, keyring, http, clock, alice)
    await enforce(utcnow() + timedelta(minutes=30))
    doc = await as_alice.page("/settings/notifications")
    assert doc.one(data_hard_limit="noticed")

    # Unticked: the same budget, soft, and the limit lifted at once.
    await as_alice.post("/settings/notifications/budget", {"monthly_budget": "0.01", "grace_minutes": "15"})
    async with sessions() as session:
        assert (await session.get(Budget, await personal_workspace_id(session, alice.user_id))).hard_limit is False
        assert (await session.execute(select(BudgetEnforcement))).scalars().all() == []
    assert not (await as_alice.page("/settings/notifications")).find(data_hard_limit="noticed")

    response = await as_alice.post("/settings/notifications/budget",
                                   {"monthly_budget": "50", "hard_limit": "on", "grace_minutes": "7"})
    assert response.status_code == 400 and "choose how long to wait before stopping" in response.text
    async with sessions() as session:
        assert (await session.get(Budget, await personal_workspace_id(session, alice.user_id))).monthly_amount == Decimal("0.01")  # nothing saved
