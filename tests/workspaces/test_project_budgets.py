"""Budgets and quotas per project, on the sandbox with the clock moved by hand (both databases).

A project over its hard-limited budget: one notice (naming the project and its page) to the members
who may set budgets, then after the grace period only THAT project's running instances are stopped,
once; another project's in the same organization run on (and it still launches); launching and
starting in the project are refused until a raise lets them start again. A project's quota is
checked as well as the workspace's (both must pass), and two concurrent launches into the last
project slot: exactly one wins (PostgreSQL and SQLite)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.console.instances import LaunchSpec, launch, perform
from app.console.quotas import Limits, QuotaReached, set_limits, usage
from app.console.spending_guard import SpendingLimitReached
from app.console.sync import sync_binding
from app.costs.accrual import accrue_costs
from app.db.models import AuditEvent, Instance
from app.db.types import utcnow
from app.notifications import budgets
from app.notifications.budget_targets import Target
from app.notifications.budgets import check_budgets, month_spend
from app.workspaces import projects, roles
from app.workspaces.projects import NoSuchProject
from tests.notifications.conftest import BASE_URL, enforce, outbox  # noqa: F401 - enforce: a fixture
from tests.workspaces.support import org_with_every_role, scope_of

TOLD = {"owner", "admin", "billing"}  # the roles with manage_budgets


def spec(binding_id: int, name: str, project_id: int | None, price: str = "2.00") -> LaunchSpec:
    return LaunchSpec(binding_id=binding_id, name=name, instance_type="sbx.rtx4090.1x", region="sandbox-eu-1",
                      offer_price_per_hour=Decimal(price), gpu_count=Decimal(1), project_id=project_id)


async def make_projects(sessions, org, *names: str) -> list[int]:
    owner = await scope_of(sessions, org.people["owner"], org.id)
    async with sessions() as session, session.begin():
        return [(await projects.create(session, owner, name)).id for name in names]


async def statuses(sessions, org_id: int) -> dict[str, str]:
    async with sessions() as session:
        return dict((await session.execute(select(Instance.name, Instance.status)
                                           .where(Instance.workspace_id == org_id))).all())


def recipients_of(messages, org) -> set[str]:
    by_id = {a.user_id: role for role, a in org.people.items()}
    return {by_id[m.user_id] for m in messages}


async def set_project_budget(sessions, scope, project_id, amount, *, hard=True, at=None) -> None:
    async with sessions() as session, session.begin():
        await budgets.set_budget(session, scope, amount, hard_limit=hard, grace_minutes=60, now=at, project_id=project_id)


async def test_a_project_over_its_hard_limit_has_only_its_instances_stopped_once_and_a_raise_lets_them_start(
        sessions, keyring, http, cloud, clock, enforce):
    org = await org_with_every_role(sessions, keyring)
    train, serve = await make_projects(sessions, org, "Train", "Serve")
    member = await scope_of(sessions, org.people["member"], org.id)
    ids = [(await launch(sessions, keyring, http, member, spec(org.binding_id, n, train))).id for n in ("t-1", "t-2")]
    await launch(sessions, keyring, http, member, spec(org.binding_id, "s-1", serve))
    clock.advance(21)
    await sync_binding(sessions, keyring, http, org.binding_id)
    assert set((await statuses(sessions, org.id)).values()) == {"running"}
    t0 = utcnow()
    await accrue_costs(sessions, now=t0 + timedelta(hours=1))
    async with sessions() as session:
        train_spent = (await month_spend(session, Target(org.id, train), t0 + timedelta(hours=1))).spent
        serve_spent = (await month_spend(session, Target(org.id, serve), t0 + timedelta(hours=1))).spent
        org_spent = (await month_spend(session, org.id, t0 + timedelta(hours=1))).spent
    assert train_spent > 0 and serve_spent > 0 and train_spent + serve_spent == org_spent  # exact: Decimal
    budget = (train_spent * Decimal("1.5")).quantize(Decimal("0.01"))
    await set_project_budget(sessions, await scope_of(sessions, org.people["billing"], org.id), train, budget)

    assert (await enforce(t0 + timedelta(hours=1))).noticed == 0
    crossed = t0 + timedelta(hours=2)
    assert (await enforce(crossed)).noticed == 1
    notices = await outbox(sessions, event_type="budget_limit")
    assert recipients_of(notices, org) == TOLD and len(notices) == 3
    assert "Train project's" in notices[0].body_text and f"/console/budget?project={train}" in notices[0].body_text
    with pytest.raises(SpendingLimitReached, match="this project's monthly budget"):
        await launch(sessions, keyring, http, member, spec(org.binding_id, "t-3", train))
    await launch(sessions, keyring, http, member, spec(org.binding_id, "s-2", serve))  # another project: allowed
    assert (await enforce(crossed + timedelta(minutes=30))).stopped == 0  # the grace period

    assert (await enforce(crossed + timedelta(minutes=60))).stopped == 2
    for later in (61, 90, 180):
        outcome = await enforce(crossed + timedelta(minutes=later))
        assert (outcome.noticed, outcome.stopped) == (0, 0)
    clock.advance(6)
    await sync_binding(sessions, keyring, http, org.binding_id)
    now = await statuses(sessions, org.id)
    assert now.pop("s-2") in ("provisioning", "running")  # launched during the grace period, still booting
    assert now == {"t-1": "stopped", "t-2": "stopped", "s-1": "running"}
    in_cloud = sorted(i["status"] for i in cloud.list_instances(org.api_key))
    assert len(in_cloud) == 4 and in_cloud.count("stopped") == 2  # nothing deleted, the other project untouched
    stopped = [m for m in await outbox(sessions, event_type="budget_limit") if "Stopped 2 instances" in m.subject]
    assert recipients_of(stopped, org) == TOLD and len(stopped) == 3
    assert len(await outbox(sessions, event_type="budget_limit")) == 6  # one notice, one stop report, each
    async with sessions() as session:
        actors = (await session.execute(select(AuditEvent.actor, AuditEvent.target_id)
                                        .where(AuditEvent.action == "instance.stop"))).all()
    assert sorted(actors) == sorted(("budget hard limit", str(i)) for i in ids)

    with pytest.raises(SpendingLimitReached):
        await perform(sessions, keyring, http, member, ids[0], "start")
    await set_project_budget(sessions, await scope_of(sessions, org.people["admin"], org.id), train, budget * 10,
                             at=crossed + timedelta(minutes=200))
    for instance_id in ids:
        assert (await perform(sessions, keyring, http, member, instance_id, "start")).status == "provisioning"


async def test_project_warnings_at_75_90_95_once_each(sessions, keyring, http, cloud, clock):
    org = await org_with_every_role(sessions, keyring)
    (train,) = await make_projects(sessions, org, "Train")
    member = await scope_of(sessions, org.people["member"], org.id)
    await launch(sessions, keyring, http, member, spec(org.binding_id, "t-1", train))
    clock.advance(21)
    await sync_binding(sessions, keyring, http, org.binding_id)
    t0 = utcnow()
    await accrue_costs(sessions, now=t0 + timedelta(hours=1))
    async with sessions() as session:
        spent = (await month_spend(session, Target(org.id, train), t0 + timedelta(hours=1))).spent
    await set_project_budget(sessions, await scope_of(sessions, org.people["owner"], org.id), train,
                             (spent / Decimal("0.92")).quantize(Decimal("0.01")), hard=False)
    for _ in range(2):
        await check_budgets(sessions, base_url=BASE_URL, telegram_enabled=False, now=t0 + timedelta(hours=1))
    warnings = await outbox(sessions, event_type="cost_warning")
    assert recipients_of(warnings, org) == TOLD and len(warnings) == 3  # 75 and 90 at once: one message naming 90
    assert {m.subject for m in warnings} == {f"You have used 90% of the Train project's (Acme ML) {t0:%B %Y} budget"}


async def test_a_project_quota_is_checked_as_well_as_the_workspaces(sessions, keyring, http, cloud, clock):
    org = await org_with_every_role(sessions, keyring)
    train, serve = await make_projects(sessions, org, "Train", "Serve")
    admin = await scope_of(sessions, org.people["admin"], org.id)
    member = await scope_of(sessions, org.people["member"], org.id)
    await launch(sessions, keyring, http, member, spec(org.binding_id, "s-1", serve))
    async with sessions() as session, session.begin():
        await set_limits(session, admin, Limits(max_gpus=1), project_id=train)
    await launch(sessions, keyring, http, member, spec(org.binding_id, "t-1", train))  # serve's GPU is not train's
    with pytest.raises(QuotaReached, match=r"this project's quota of 1 GPUs would be exceeded \(1 in use now"):
        await launch(sessions, keyring, http, member, spec(org.binding_id, "t-2", train))
    await launch(sessions, keyring, http, member, spec(org.binding_id, "s-2", serve))
    async with sessions() as session, session.begin():
        await set_limits(session, admin, Limits(max_running_instances=3))  # the workspace's: 3 run already
    with pytest.raises(QuotaReached, match="this workspace's quota of 3 running instances"):
        await launch(sessions, keyring, http, member, spec(org.binding_id, "s-3", serve))
    async with sessions() as session:
        assert (await usage(session, org.id, train)).running == 1 and (await usage(session, org.id)).running == 3
    # Quotas of a project are set by manage_quotas only; another workspace's project is a 404.
    async with sessions() as session, session.begin():
        with pytest.raises(roles.Forbidden):
            await set_limits(session, await scope_of(sessions, org.people["billing"], org.id), Limits(max_gpus=9),
                             project_id=train)
    other = await org_with_every_role(sessions, keyring, prefix="b-")
    async with sessions() as session, session.begin():
        with pytest.raises(NoSuchProject):
            await set_limits(session, await scope_of(sessions, other.people["owner"], other.id), Limits(max_gpus=9),
                             project_id=train)
        with pytest.raises(NoSuchProject):
            await budgets.set_budget(session, await scope_of(sessions, other.people["owner"], other.id), Decimal("5"),
                                     project_id=train)


async def test_two_concurrent_launches_into_the_last_project_slot_exactly_one_wins(
        engine, sessions, keyring, http, cloud, clock):
    org = await org_with_every_role(sessions, keyring)
    train, serve = await make_projects(sessions, org, "Train", "Serve")
    owner = await scope_of(sessions, org.people["owner"], org.id)
    member = await scope_of(sessions, org.people["member"], org.id)
    await launch(sessions, keyring, http, member, spec(org.binding_id, "first", train))
    await launch(sessions, keyring, http, member, spec(org.binding_id, "elsewhere", serve))
    for round_ in range(3):  # one free slot in the project each round, two launches racing for it
        async with sessions() as session, session.begin():
            await set_limits(session, owner, Limits(max_running_instances=2 + round_), project_id=train)
        results = await asyncio.gather(
            *(launch(sessions, keyring, http, member, spec(org.binding_id, f"r{round_}-{n}", train)) for n in range(2)),
            return_exceptions=True)
        wins = [r for r in results if isinstance(r, Instance)]
        refused = [r for r in results if isinstance(r, QuotaReached)]
        assert len(wins) == 1 and len(refused) == 1, (engine.dialect.name, results)
        assert f"this project's quota of {2 + round_} running instances is reached ({2 + round_} running" in str(refused[0])
    async with sessions() as session:
        assert (await usage(session, org.id, train)).running == 4
        assert (await usage(session, org.id, serve)).running == 1


async def api_token(sessions, account) -> str:
    from app.auth import api_tokens
    from app.db.models import User

    async with sessions() as session, session.begin():
        _row, token = await api_tokens.create_token(session, await session.get(User, account.user_id), "ci",
                                                    can_write=True, expires_in_days=None)
    return token


async def test_a_projects_budget_and_quotas_on_the_api(sessions, keyring, cloud, login):
    org = await org_with_every_role(sessions, keyring)
    train, serve = await make_projects(sessions, org, "Train", "Serve")
    browser = await login(org.people["owner"].email)
    client = browser.client
    headers = {"authorization": f"Bearer {await api_token(sessions, org.people['owner'])}",
               "x-computehub-workspace": str(org.id)}
    response = await client.post(f"/api/v1/console/budgets?project={train}", headers=headers,
                                 json={"monthly_amount": "40", "hard_limit": True, "grace_minutes": 15})
    assert response.status_code == 201, response.text[:300]
    body = response.json()
    assert (body["project_id"], body["monthly_amount"], body["hard_limit"], body["workspace_id"]) == (train, "40.000000", True, org.id)
    assert [b["project_id"] for b in (await client.get(f"/api/v1/console/budgets?project={train}", headers=headers)).json()] == [train]
    assert (await client.get("/api/v1/console/budgets", headers=headers)).json() == []  # the organization has none
    assert (await client.get(f"/api/v1/console/budgets?project={serve}", headers=headers)).json() == []
    response = await client.put(f"/api/v1/console/quotas?project={train}", json={"max_gpus": 2}, headers=headers)
    assert response.status_code == 200 and response.json()["project_id"] == train and response.json()["max_gpus"] == 2
    assert (await client.get("/api/v1/console/quotas", headers=headers)).json()["max_gpus"] is None
    assert (await client.get(f"/api/v1/console/quotas?project={train}", headers=headers)).json()["max_gpus"] == 2
    assert (await client.delete(f"/api/v1/console/budgets/monthly?project={train}", headers=headers)).status_code == 204
    assert (await client.delete(f"/api/v1/console/budgets/monthly?project={train}", headers=headers)).status_code == 404
    assert (await client.get("/api/v1/console/budgets?project=abc", headers=headers)).status_code == 400
    schema = (await client.get("/schema/openapi.json")).json()["paths"]
    for path, method in (("/api/v1/console/budgets", "get"), ("/api/v1/console/budgets", "post"),
                         ("/api/v1/console/budgets/{budget_id}", "delete"), ("/api/v1/console/quotas", "get"),
                         ("/api/v1/console/quotas", "put")):
        documented = {p["name"]: p for p in schema[path][method]["parameters"] if p["in"] == "query"}
        assert "project" in documented and "project" in documented["project"]["description"], (path, method)

    # Another organization's project: a 404 for every route, its budget untouched.
    await set_project_budget(sessions, await scope_of(sessions, org.people["owner"], org.id), serve, Decimal("77"))
    other = await org_with_every_role(sessions, keyring, prefix="b-")
    theirs = {"authorization": f"Bearer {await api_token(sessions, other.people['owner'])}",
              "x-computehub-workspace": str(other.id)}
    for method, url, json in (("GET", "/budgets", None), ("POST", "/budgets", {"monthly_amount": "1"}),
                              ("DELETE", "/budgets/monthly", None), ("GET", "/quotas", None),
                              ("PUT", "/quotas", {"max_gpus": 1})):
        response = await client.request(method, f"/api/v1/console{url}?project={serve}", json=json, headers=theirs)
        assert response.status_code == 404, (method, url, response.text[:200])
        assert "77" not in response.text
    async with sessions() as session:
        assert await budgets.get_budget(session, Target(org.id, serve)) == Decimal("77")

    # Roles: a viewer reads, cannot set; billing sets the budget, not the quotas.
    for role, budget_status, quota_status in (("viewer", 403, 403), ("billing", 201, 403), ("admin", 201, 200)):
        h = {"authorization": f"Bearer {await api_token(sessions, org.people[role])}", "x-computehub-workspace": str(org.id)}
        assert (await client.get(f"/api/v1/console/budgets?project={serve}", headers=h)).status_code == 200
        assert (await client.post(f"/api/v1/console/budgets?project={serve}", json={"monthly_amount": "5"},
                                  headers=h)).status_code == budget_status, role
        assert (await client.put(f"/api/v1/console/quotas?project={serve}", json={"max_gpus": 3},
                                 headers=h)).status_code == quota_status, role


async def test_the_budget_page_edits_a_projects_budget_and_quotas_and_shows_spending_per_project(
        sessions, keyring, cloud, login):
    from tests.workspaces.support import switch_to

    org = await org_with_every_role(sessions, keyring)
    train, serve = await make_projects(sessions, org, "Train", "Serve")
    owner = await login(org.people["owner"].email)
    await switch_to(owner, org.id)
    doc = await owner.page("/console/budget")
    assert doc.one(data_budget_for="workspace")
    assert [n.get("data-project") for n in doc.iter() if n.tag == "tr" and n.get("data-project")] == [str(serve), str(train)]
    response = await owner.post(f"/console/budget?project={train}",
                                {"monthly_budget": "120", "hard_limit": "on", "grace_minutes": "15"}, follow_redirects=False)
    assert response.status_code == 302 and response.headers["location"] == f"/console/budget?project={train}&done=budget-saved"
    response = await owner.post(f"/console/budget/quotas?project={train}", {"max_running_instances": "3"},
                                follow_redirects=False)
    assert response.status_code == 302, response.text[:300]
    doc = await owner.page(f"/console/budget?project={train}")
    assert doc.one(data_budget_for=str(train))
    assert doc.find("form", action=f"/console/budget?project={train}")
    assert doc.find("form", action=f"/console/budget/quotas?project={train}")
    assert doc.one(data_budget="120.000000")
    row = doc.one(data_project=str(train))
    assert "$120.00" in row.text and row.one(data_hard_limit_state="watching")
    async with sessions() as session:
        assert (await budgets.get_budget(session, org.id)) is None  # the organization's own: untouched
        from app.console.quotas import limits_of
        assert (await limits_of(session, org.id, train)).max_running_instances == 3
        assert (await limits_of(session, org.id)).max_running_instances is None
    response = await owner.post(f"/console/budget?project={train}", {"monthly_budget": "lots"})
    assert response.status_code == 400 and "Budget not saved" in response.text

    viewer = await login(org.people["viewer"].email)
    await switch_to(viewer, org.id)
    doc = await viewer.page(f"/console/budget?project={train}")
    assert doc.one(data_read_only="budget") and doc.one(data_read_only="quotas")
    response = await viewer.post(f"/console/budget?project={train}", {"monthly_budget": "1"}, follow_redirects=False)
    assert response.status_code == 403

    other = await org_with_every_role(sessions, keyring, prefix="b-")
    outsider = await login(other.people["owner"].email)
    await switch_to(outsider, other.id)
    assert (await outsider.client.get(f"/console/budget?project={train}")).status_code == 404
    response = await outsider.post(f"/console/budget?project={train}", {"monthly_budget": "1"}, follow_redirects=False)
    assert response.status_code == 404
