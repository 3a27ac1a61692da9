"""Budgets and quotas per workspace, on the sandbox with the clock moved by hand (both databases).

An organization's budget: warnings at exactly 75, 90 and 95 % once each to its owner, admins and
billing members; at 100 % with a hard limit one notice, then after the grace period its running
instances stopped once (never deleted; another workspace's untouched); launching refused; a raise
lets them start again. Quotas: refused launches name the quota and the usage; two concurrent
launches never both take the last slot (PostgreSQL). Roles: viewers and members get 403 on the page
and the API; another workspace is a 404."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.auth import api_tokens
from app.console.instances import LaunchSpec, launch, perform
from app.console.quotas import Limits, QuotaReached, set_limits, usage
from app.console.spending_guard import SpendingLimitReached
from app.console.sync import sync_binding
from app.costs.accrual import accrue_costs
from app.db.models import AuditEvent, Budget, Instance, InstanceEvent, Offer, User
from app.db.types import utcnow
from app.notifications import budgets
from app.notifications.budgets import check_budgets, month_spend
from app.workspaces import roles
from app.workspaces.scope import personal_workspace_id
from tests.console.conftest import make_account, sandbox_offers
from tests.notifications.conftest import BASE_URL, enforce, outbox  # noqa: F401 - enforce: a fixture
from tests.workspaces.support import org_with_every_role, scope_of, switch_to

PRICE = Decimal("2.00")
TOLD = {"owner", "admin", "billing"}  # the roles with manage_budgets


def spec(binding_id: int, name: str, price: Decimal = PRICE) -> LaunchSpec:
    return LaunchSpec(binding_id=binding_id, name=name, instance_type="sbx.rtx4090.1x", region="sandbox-eu-1",
                      offer_price_per_hour=price, gpu_count=Decimal(1))


async def statuses(sessions, workspace_id: int) -> dict[str, str]:
    async with sessions() as session:
        return dict((await session.execute(select(Instance.name, Instance.status)
                                           .where(Instance.workspace_id == workspace_id))).all())


async def spent(sessions, workspace_id: int, at) -> Decimal:
    async with sessions() as session:
        return (await month_spend(session, workspace_id, at)).spent


async def set_budget(sessions, scope, amount, *, hard=True, grace=60, at=None) -> None:
    async with sessions() as session, session.begin():
        await budgets.set_budget(session, scope, amount, hard_limit=hard, grace_minutes=grace, now=at)


def recipients_of(messages, org) -> set[str]:
    by_id = {a.user_id: role for role, a in org.people.items()}
    return {by_id[m.user_id] for m in messages}


async def test_an_organization_over_its_hard_limit_is_stopped_once_and_a_raise_lets_it_start(
        sessions, keyring, http, cloud, clock, enforce):
    org = await org_with_every_role(sessions, keyring)
    member = await scope_of(sessions, org.people["member"], org.id)
    ids = [(await launch(sessions, keyring, http, member, spec(org.binding_id, n))).id for n in ("o-1", "o-2")]
    owner = org.people["owner"]
    personal = (await launch(sessions, keyring, http, owner.user_id, spec(owner.binding_id, "mine"))).id
    clock.advance(21)
    await sync_binding(sessions, keyring, http, org.binding_id)
    await sync_binding(sessions, keyring, http, owner.binding_id)
    assert set((await statuses(sessions, org.id)).values()) == {"running"}
    t0 = utcnow()
    await accrue_costs(sessions, now=t0 + timedelta(hours=1))
    budget = (await spent(sessions, org.id, t0 + timedelta(hours=1)) * Decimal("1.5")).quantize(Decimal("0.01"))
    await set_budget(sessions, await scope_of(sessions, org.people["billing"], org.id), budget)

    assert (await enforce(t0 + timedelta(hours=1))).noticed == 0
    crossed = t0 + timedelta(hours=2)
    assert (await enforce(crossed)).noticed == 1
    notices = await outbox(sessions, event_type="budget_limit")
    assert recipients_of(notices, org) == TOLD and len(notices) == 3
    assert "Acme ML" in notices[0].body_text and "/console/budget" in notices[0].body_text
    with pytest.raises(SpendingLimitReached, match="hard limit"):
        await launch(sessions, keyring, http, member, spec(org.binding_id, "o-3"))
    assert (await enforce(crossed + timedelta(minutes=30))).stopped == 0  # the grace period

    assert (await enforce(crossed + timedelta(minutes=60))).stopped == 2
    for later in (61, 90, 180):
        assert (await enforce(crossed + timedelta(minutes=later))) == type(await enforce(crossed))(0, 0)
    clock.advance(6)
    await sync_binding(sessions, keyring, http, org.binding_id)
    assert await statuses(sessions, org.id) == {"o-1": "stopped", "o-2": "stopped"}
    assert sorted(i["status"] for i in cloud.list_instances(org.api_key)) == ["stopped", "stopped"]  # not deleted
    stopped = [m for m in await outbox(sessions, event_type="budget_limit") if "Stopped 2 instances" in m.subject]
    assert recipients_of(stopped, org) == TOLD and len(stopped) == 3
    # The owner's personal workspace has no budget: its instance runs on.
    assert (await statuses(sessions, await _personal(sessions, owner.user_id)))["mine"] == "running"
    async with sessions() as session:
        actors = (await session.execute(select(AuditEvent.actor, AuditEvent.workspace)
                                        .where(AuditEvent.action == "instance.stop"))).all()
    assert actors == [("budget hard limit", f"org:{org.id}")] * 2

    with pytest.raises(SpendingLimitReached):
        await perform(sessions, keyring, http, member, ids[0], "start")
    await set_budget(sessions, await scope_of(sessions, org.people["admin"], org.id), budget * 10,
                     at=crossed + timedelta(minutes=200))
    for instance_id in ids:
        assert (await perform(sessions, keyring, http, member, instance_id, "start")).status == "provisioning"
    assert personal


async def _personal(sessions, user_id: int) -> int:
    async with sessions() as session, session.begin():
        return await personal_workspace_id(session, user_id)


START = datetime(2026, 11, 10, 5, 0, tzinfo=timezone.utc)


async def org_instance(sessions, org, name: str, price: str) -> None:
    """An instance running since START in the organization (costs accrue from its events)."""
    async with sessions() as session, session.begin():
        row = Instance(workspace_id=org.id, user_id=org.people["member"].user_id, provider="sandbox",
                       provider_instance_id=f"sbx-{name}", client_token=f"tok-{name}", name=name,
                       instance_type="sbx.h100.1x", region="eu-1", gpu_slug="h100-sxm", gpu_count=Decimal(1),
                       status="running", offer_price_per_hour=Decimal(price), created_at=START, updated_at=START)
        session.add(row)
        await session.flush()
        session.add(InstanceEvent(instance_id=row.id, status="running", at=START, price_per_hour=Decimal(price)))


async def test_warnings_at_75_90_and_95_once_each_to_owner_admin_and_billing(sessions, keyring, cloud):
    org = await org_with_every_role(sessions, keyring)
    assert budgets.THRESHOLDS == (75, 90, 95)
    await set_budget(sessions, await scope_of(sessions, org.people["owner"], org.id), Decimal("100"), hard=False)
    await org_instance(sessions, org, "train", "10.00")  # $10 an hour: 75 % at 7.5 h, 90 % at 9 h, 95 % at 9.5 h
    seen = []
    for hours in (7, 7.5, 8, 9, 9, 9.5, 9.75, 12):
        at = START + timedelta(hours=hours)
        await accrue_costs(sessions, now=at)
        await check_budgets(sessions, base_url=BASE_URL, telegram_enabled=False, now=at)
        seen.append(len(await outbox(sessions, event_type="cost_warning")))
    assert seen == [0, 3, 3, 6, 6, 9, 9, 9]
    messages = await outbox(sessions, event_type="cost_warning")
    for i, threshold in enumerate((75, 90, 95)):
        batch = messages[3 * i:3 * i + 3]
        assert recipients_of(batch, org) == TOLD
        assert {m.subject for m in batch} == {
            f"You have used {threshold}% of the Acme ML organization's November 2026 budget"}


async def test_quotas_name_the_quota_and_the_usage(sessions, keyring, http, cloud, clock):
    org = await org_with_every_role(sessions, keyring)
    admin = await scope_of(sessions, org.people["admin"], org.id)
    member = await scope_of(sessions, org.people["member"], org.id)
    await launch(sessions, keyring, http, member, spec(org.binding_id, "q-1"))
    async with sessions() as session:
        billed = (await usage(session, org.id)).hourly  # what the provider says q-1 bills at
    assert billed > 0
    async with sessions() as session, session.begin():
        await set_limits(session, admin, Limits(max_running_instances=2, max_hourly_spend=billed + Decimal("1.50")))
    with pytest.raises(QuotaReached, match=rf"\${billed + Decimal('1.50'):,.2f} per hour would be exceeded "
                                           rf"\(\${billed:,.2f}/h now, this adds \$2.00/h\)"):
        await launch(sessions, keyring, http, member, spec(org.binding_id, "q-2"))
    await launch(sessions, keyring, http, member, spec(org.binding_id, "q-2", price=Decimal("1.00")))
    with pytest.raises(QuotaReached, match=r"quota of 2 running instances is reached \(2 running or starting now\)"):
        await launch(sessions, keyring, http, member, spec(org.binding_id, "q-3", price=Decimal(0)))
    async with sessions() as session, session.begin():
        await set_limits(session, admin, Limits(max_running_instances=None, max_gpus=2))
    with pytest.raises(QuotaReached, match=r"quota of 2 GPUs would be exceeded \(2 in use now, this needs 1\)"):
        await launch(sessions, keyring, http, member, spec(org.binding_id, "q-3"))
    # Another workspace's quota is its own: the member's personal key launches freely.
    account = org.people["member"]
    await launch(sessions, keyring, http, account.user_id, spec(account.binding_id, "own"))
    # Nothing was written for the refused launches.
    assert set(await statuses(sessions, org.id)) == {"q-1", "q-2"}
    # Setting quotas is owner/admin only.
    for role in roles.ROLES:
        scope = await scope_of(sessions, org.people[role], org.id)
        async with sessions() as session, session.begin():
            if roles.allows(role, "manage_quotas"):
                await set_limits(session, scope, Limits(max_gpus=5))
            else:
                with pytest.raises(roles.Forbidden):
                    await set_limits(session, scope, Limits(max_gpus=5))
    assert {r for r in roles.ROLES if roles.allows(r, "manage_quotas")} == {"owner", "admin"}


async def test_two_concurrent_launches_never_both_take_the_last_slot(engine, sessions, keyring, http, cloud, clock):
    if engine.dialect.name != "postgresql":
        pytest.skip("concurrent transactions: PostgreSQL (SQLite serializes every write transaction anyway)")
    org = await org_with_every_role(sessions, keyring)
    member = await scope_of(sessions, org.people["member"], org.id)
    owner = await scope_of(sessions, org.people["owner"], org.id)
    await launch(sessions, keyring, http, member, spec(org.binding_id, "first"))
    for round_ in range(3):  # one free slot each round, two launches racing for it: exactly one wins
        async with sessions() as session, session.begin():
            await set_limits(session, owner, Limits(max_running_instances=2 + round_))
        results = await asyncio.gather(
            *(launch(sessions, keyring, http, member, spec(org.binding_id, f"r{round_}-{n}")) for n in range(2)),
            return_exceptions=True)
        wins = [r for r in results if isinstance(r, Instance)]
        refused = [r for r in results if isinstance(r, QuotaReached)]
        assert len(wins) == 1 and len(refused) == 1, results
        assert f"quota of {2 + round_} running instances is reached ({1 + round_ + 1} running" in str(refused[0])
    async with sessions() as session:
        live = (await session.execute(select(func.count()).select_from(Instance).where(
            Instance.workspace_id == org.id, Instance.status.not_in(("stopped", "terminated", "failed"))))).scalar_one()
    assert live == 4


async def api_token(sessions, account) -> str:
    async with sessions() as session, session.begin():
        _row, token = await api_tokens.create_token(session, await session.get(User, account.user_id), "ci",
                                                    can_write=True, expires_in_days=None)
    return token


@pytest.mark.parametrize("role", roles.ROLES)
async def test_each_role_gets_what_the_table_says_on_the_page_and_the_api(role, sessions, keyring, cloud, login):
    org = await org_with_every_role(sessions, keyring)
    account = org.people[role]
    browser = await login(account.email)
    await switch_to(browser, org.id)
    doc = await browser.page("/console/budget")
    may_budget, may_quota = roles.allows(role, "manage_budgets"), roles.allows(role, "manage_quotas")
    assert bool(doc.find("form", action="/console/budget")) == may_budget
    assert bool(doc.find("form", action="/console/budget/quotas")) == may_quota
    assert bool(doc.find(data_read_only="budget")) != may_budget

    response = await browser.post("/console/budget", {"monthly_budget": "250", "grace_minutes": "60"},
                                  follow_redirects=False)
    assert response.status_code == (302 if may_budget else 403), response.text[:300]
    response = await browser.post("/console/budget/quotas", {"max_running_instances": "4"}, follow_redirects=False)
    assert response.status_code == (302 if may_quota else 403), response.text[:300]

    headers = {"authorization": f"Bearer {await api_token(sessions, account)}", "x-computehub-workspace": str(org.id)}
    client = browser.client
    response = await client.post("/api/v1/console/budgets", json={"monthly_amount": "300"}, headers=headers)
    assert response.status_code == (201 if may_budget else 403), response.text[:300]
    if may_budget:
        assert response.json()["workspace_id"] == org.id and response.json()["thresholds"] == [75, 90, 95]
    response = await client.put("/api/v1/console/quotas", json={"max_gpus": 8}, headers=headers)
    assert response.status_code == (200 if may_quota else 403), response.text[:300]
    listed = await client.get("/api/v1/console/budgets", headers=headers)
    assert listed.status_code == 200
    async with sessions() as session:
        row = await session.get(Budget, org.id)
    assert (row.monthly_amount if row else None) == (Decimal("300") if may_budget else None)
    if role in ("viewer", "member"):
        assert not may_budget and not may_quota


async def test_another_workspaces_budget_is_a_404(sessions, keyring, cloud, login):
    org = await org_with_every_role(sessions, keyring)
    await set_budget(sessions, await scope_of(sessions, org.people["owner"], org.id), Decimal("500"))
    outsider = await make_account(sessions, keyring, "eve@example.com", plan="pro")
    browser = await login(outsider.email)
    headers = {"authorization": f"Bearer {await api_token(sessions, outsider)}", "x-computehub-workspace": str(org.id)}
    for method, url, body in (("GET", "/api/v1/console/budgets", None), ("POST", "/api/v1/console/budgets",
                                                                        {"monthly_amount": "1"}),
                              ("DELETE", "/api/v1/console/budgets/monthly", None), ("GET", "/api/v1/console/quotas", None),
                              ("PUT", "/api/v1/console/quotas", {"max_gpus": 1})):
        response = await browser.client.request(method, url, json=body, headers=headers)
        assert response.status_code == 404, (method, url, response.text[:200])
        assert "500" not in response.text
    # The switcher will not pick it either: her page shows her own (empty) budget.
    response = await browser.post("/workspaces/switch", {"workspace_id": org.id}, follow_redirects=False)
    assert response.status_code == 404
    doc = await browser.page("/console/budget")
    assert doc.one(data_budget="").text.strip() == "None"
    async with sessions() as session:
        assert (await session.get(Budget, org.id)).monthly_amount == Decimal("500")


async def test_the_budget_page_shows_spend_thresholds_and_the_hard_limit(sessions, keyring, http, cloud, clock, login,
                                                                         enforce):
    org = await org_with_every_role(sessions, keyring)
    member = await scope_of(sessions, org.people["member"], org.id)
    await launch(sessions, keyring, http, member, spec(org.binding_id, "p-1"))
    clock.advance(21)
    await sync_binding(sessions, keyring, http, org.binding_id)
    owner = await login(org.people["owner"].email)
    await switch_to(owner, org.id)
    response = await owner.post("/console/budget", {"monthly_budget": "0.01", "hard_limit": "on", "grace_minutes": "15"})
    assert response.status_code == 200
    await enforce(utcnow() + timedelta(minutes=30))
    await check_budgets(sessions, base_url=BASE_URL, telegram_enabled=False, now=utcnow() + timedelta(minutes=30))
    doc = await owner.page("/console/budget")
    assert doc.one(data_hard_limit="noticed")
    assert doc.one(data_hard_limit_state="noticed").text.strip() == "Reached"
    assert [li.get("data-threshold") for li in doc.find_all("li", class_="chip-spot")] == ["75", "90", "95", "100"]
    assert Decimal(next(n for n in doc.iter() if n.get("data-month-spend")).get("data-month-spend")) > 0
    response = await owner.post("/console/budget/quotas", {"max_running_instances": "abc"})
    assert response.status_code == 400 and "whole number" in response.text
    viewer = await login(org.people["viewer"].email)
    await switch_to(viewer, org.id)
    doc = await viewer.page("/console/budget")
    assert doc.one(data_read_only="budget") and doc.one(data_read_only="quotas")
    assert doc.one(data_hard_limit_state="noticed")


async def test_a_launch_over_a_quota_is_a_409_naming_it_on_the_api_and_the_page(sessions, keyring, http, cloud, clock,
                                                                                 login):
    await sandbox_offers(sessions)
    async with sessions() as session:
        offer = (await session.execute(select(Offer).where(Offer.source == "sandbox").order_by(Offer.id))).scalars().first()
    org = await org_with_every_role(sessions, keyring)
    async with sessions() as session, session.begin():
        await set_limits(session, await scope_of(sessions, org.people["admin"], org.id), Limits(max_running_instances=0))
    member = org.people["member"]
    headers = {"authorization": f"Bearer {await api_token(sessions, member)}", "x-computehub-workspace": str(org.id)}
    browser = await login(member.email)
    response = await browser.client.post("/api/v1/console/deployments", headers=headers,
                                         json={"offer_id": offer.id, "key_id": org.binding_id, "name": "over"})
    assert response.status_code == 409, response.text[:300]
    assert "quota of 0 running instances is reached (0 running or starting now)" in response.text
    await switch_to(browser, org.id)
    response = await browser.post("/console/launch", {"offer": offer.id, "binding_id": org.binding_id, "name": "over"})
    assert response.status_code == 400 and "quota of 0 running instances" in response.text
    assert await statuses(sessions, org.id) == {}
    # The member's personal workspace has no quota: the same offer launches there.
    own = {"authorization": headers["authorization"]}
    response = await browser.client.post("/api/v1/console/deployments", headers=own,
                                         json={"offer_id": offer.id, "key_id": member.binding_id, "name": "mine"})
    assert response.status_code == 201, response.text[:300]


async def test_a_new_month_lets_launches_through_again(sessions, keyring, cloud):
    from app.console.spending_guard import ensure_spending_allowed
    from app.db.models import BudgetEnforcement

    org = await org_with_every_role(sessions, keyring)
    last_day = datetime(2026, 11, 30, 23, 59, tzinfo=timezone.utc)  # an organization's month is UTC's
    async with sessions() as session, session.begin():
        session.add(BudgetEnforcement(workspace_id=org.id, month="2026-11", noticed_at=last_day, stop_due_at=last_day,
                                      stopped_count=0))
    async with sessions() as session:
        with pytest.raises(SpendingLimitReached, match="/console/budget"):
            await ensure_spending_allowed(session, org.id, last_day, "launch")
        await ensure_spending_allowed(session, org.id, last_day + timedelta(minutes=1), "launch")  # 1 December
        # Another workspace never inherits it.
        await ensure_spending_allowed(session, await personal_workspace_id(session, org.people["owner"].user_id),
                                      last_day, "launch")
