"""An organization's own plan (local billing): the 14-day Enterprise trial it starts with (once),
members getting its features whatever their personal plan, a lapsed organization locking its
org-only actions (data kept) even for a Pro member, and its billing page: a billing member
subscribes it (a Stripe customer of its own), a member may not. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.billing import organization_plan
from app.billing.entitlements import entitlements, workspace_entitlements
from app.console import bindings
from app.db.models import Invoice, Project, Subscription, User
from app.db.types import utcnow
from app.workspaces import invitations, organizations, projects
from app.workspaces.scope import Scope, membership
from providers.sandbox import generate_api_key
from tests.console.conftest import PASSWORD
from tests.billing.support import lapse_organization, subscription_row
from tests.console.conftest import make_account
from tests.web.html import parse_html


async def new_org(sessions, owner_id: int, *others: tuple[str, str]) -> int:
    async with sessions() as session, session.begin():
        scope = await organizations.create(session, await session.get(User, owner_id), "Acme ML")
        for email, role in others:
            await organizations.add_member(session, scope, email, role)
    return scope.workspace_id


async def org_row(sessions, workspace_id: int) -> Subscription:
    async with sessions() as session:
        return (await session.execute(select(Subscription).where(Subscription.workspace_id == workspace_id))).scalar_one()


async def lapse(sessions, workspace_id: int) -> None:
    await lapse_organization(sessions, workspace_id)


async def scope_in(sessions, user_id: int, workspace_id: int) -> Scope:
    async with sessions() as session:
        return await membership(session, user_id, workspace_id)


async def logged_in(new_browser, email: str, workspace_id: int | None = None):
    browser = new_browser()
    assert (await browser.login(email, PASSWORD)).status_code in (302, 303)
    if workspace_id is not None:
        await browser.get("/workspaces")
        assert (await browser.post("/workspaces/switch", {"workspace_id": str(workspace_id)})).status_code in (302, 303)
    return browser


async def test_a_basic_user_creates_an_organization_on_a_14_day_enterprise_trial_once(sessions, keyring):
    basic = await make_account(sessions, keyring, "basic@example.com")
    before = utcnow()
    org = await new_org(sessions, basic.user_id)

    row = await org_row(sessions, org)
    assert (row.plan_code, row.status, row.trial_used, row.user_id) == ("enterprise", "trialing", True, basic.user_id)
    assert before + timedelta(days=14) <= row.trial_end <= utcnow() + timedelta(days=14)
    scope = await scope_in(sessions, basic.user_id, org)
    async with sessions() as session:
        assert (await workspace_entitlements(session, scope)).plan_code == "enterprise"
        assert (await entitlements(session, basic.user_id)).plan_code == "basic"  # their own plan is untouched
        # Day 15: the trial is over, the organization is on Basic.
        later = utcnow() + timedelta(days=15)
        assert (await workspace_entitlements(session, scope, later)).plan_code == "basic"
    assert await subscription_row(sessions, basic.user_id) is None  # no personal row was made

    # Once per organization: a second trial row for it is refused by the database itself.
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            await organization_plan.start_trial(session, org, basic.user_id)


async def test_members_get_enterprise_features_through_the_organization_while_basic_personally(
        sessions, keyring, new_browser):
    owner = await make_account(sessions, keyring, "owner@example.com")
    member = await make_account(sessions, keyring, "member@example.com")
    org = await new_org(sessions, owner.user_id, ("member@example.com", "member"))

    inside = await logged_in(new_browser, member.email, org)
    assert (await inside.get("/console/templates")).status_code == 200  # a Pro feature, from the org's plan
    at_home = await logged_in(new_browser, member.email)
    locked = await at_home.get("/console/templates")
    assert locked.status_code == 403 and "Pro" in locked.text  # their own Basic plan decides at home
    assert parse_html(locked.text).one("a", data_upgrade_link="").get("href") == "/settings/subscription"


async def test_a_pro_members_plan_does_not_leak_into_a_lapsed_organization(sessions, keyring, new_browser):
    owner = await make_account(sessions, keyring, "owner@example.com", plan="pro")
    org = await new_org(sessions, owner.user_id)
    scope = await scope_in(sessions, owner.user_id, org)
    async with sessions() as session, session.begin():
        kept = await projects.create(session, scope, "Vision")
        second = await bindings.add_binding(session, keyring, scope, "sandbox", "Second org key",
                                            {"api_key": generate_api_key()})
    await lapse(sessions, org)

    browser = await logged_in(new_browser, owner.email, org)
    locked = await browser.get("/console/templates")
    assert locked.status_code == 403
    # Templates are a Pro feature, but an organization buys Enterprise: the page names that plan.
    assert "needs the Enterprise plan" in parse_html(locked.text).one("p", class_="error-message").text
    link = parse_html(locked.text).one("a", data_upgrade_link="")
    assert link.get("href") == f"/workspaces/{org}/billing" and "Subscribe it to Enterprise" in link.text
    home = await logged_in(new_browser, owner.email)
    assert (await home.get("/console/templates")).status_code == 200  # still Pro personally

    # Org-only actions are locked with the plan named; what the organization has is kept.
    async with sessions() as session:
        for action in (lambda: invitations.invite(session, scope, "new@example.com", "member"),
                       lambda: projects.create(session, scope, "Speech"),
                       lambda: bindings.add_binding(session, keyring, scope, "sandbox", "Third org key",
                                                    {"api_key": generate_api_key()})):
            with pytest.raises(organization_plan.FeatureLocked) as refused:
                await action()
            assert refused.value.plan_name == "Enterprise" and refused.value.upgrade_url == f"/workspaces/{org}/billing"
            await session.rollback()
        names = set((await session.execute(select(Project.name).where(Project.workspace_id == org))).scalars())
        assert names == {kept.name}
        assert await session.get(type(second), second.id) is not None
    page = await browser.get(f"/workspaces/{org}/billing")
    doc = parse_html(page.text)
    assert doc.one("span", data_org_plan="basic").text == "Basic"
    assert doc.one("dd", data_lapsed="").text == "trial ended"
    assert "Enterprise" in doc.one("p", data_org_locked="").text


async def test_a_billing_member_subscribes_the_organization_and_a_member_may_not(sessions, keyring, new_browser):
    owner = await make_account(sessions, keyring, "owner@example.com")
    payer = await make_account(sessions, keyring, "payer@example.com", plan="pro")
    await make_account(sessions, keyring, "member@example.com")
    org = await new_org(sessions, owner.user_id, ("payer@example.com", "billing"), ("member@example.com", "member"))
    await lapse(sessions, org)

    member = await logged_in(new_browser, "member@example.com", org)
    assert (await member.get(f"/workspaces/{org}/billing")).status_code == 403
    refused = await member.post(f"/workspaces/{org}/billing/subscribe", {})
    assert refused.status_code == 403
    assert (await org_row(sessions, org)).status == "trialing"

    billing = await logged_in(new_browser, payer.email, org)
    page = parse_html((await billing.get(f"/workspaces/{org}/billing")).text)
    assert page.find("button", data_action="org-subscribe") is not None
    done = await billing.post(f"/workspaces/{org}/billing/subscribe", {})
    assert done.status_code == 303 and done.headers["location"] == f"/workspaces/{org}/billing?done=subscribed"

    row = await org_row(sessions, org)
    assert (row.plan_code, row.status, row.user_id) == ("enterprise", "active", payer.user_id)
    assert row.stripe_customer_id == f"cus_local_org_{org}"  # a customer of its own, not the payer's
    assert (await subscription_row(sessions, payer.user_id)).plan_code == "pro"  # their own plan is untouched
    async with sessions() as session:
        invoices = (await session.execute(select(Invoice.workspace_id, Invoice.user_id))).all()
        assert [tuple(i) for i in invoices] == [(org, payer.user_id)]
        assert (await workspace_entitlements(session, await membership(session, owner.user_id, org))).has("organizations")
    again = await billing.post(f"/workspaces/{org}/billing/subscribe", {})
    assert again.status_code == 400 and "already" in again.text
    page = parse_html((await billing.get(f"/workspaces/{org}/billing")).text)
    assert page.find("button", data_action="org-subscribe") is None
    assert (await billing.post(f"/workspaces/{org}/billing/cancel", {})).headers["location"].endswith("done=canceled")
    assert (await org_row(sessions, org)).cancel_at_period_end is True
    # The organization's invoice is not on the payer's personal subscription page.
    personal = parse_html((await billing.get("/settings/subscription")).text)
    assert personal.one("p", class_="empty-state").text == "No invoices yet."


async def test_enterprise_on_the_personal_page_points_to_the_organization_billing_page(sessions, keyring, new_browser):
    await make_account(sessions, keyring, "ada@example.com")
    browser = await logged_in(new_browser, "ada@example.com")
    doc = parse_html((await browser.get("/settings/subscription")).text)
    enterprise = doc.one("div", data_plan="enterprise")
    assert enterprise.find("p", data_not_on_sale="") is None  # on sale now: it has organizations
    assert "Organizations" in enterprise.text and "Organizations" not in doc.one("div", data_plan="pro").text
    assert enterprise.one("a", data_organization_billing_link="").get("href") == "/workspaces"
    assert doc.find("button", data_action="subscribe-enterprise") is None
    refused = await browser.post("/settings/subscription/subscribe", {"plan": "enterprise", "confirm": "yes"})
    assert refused.status_code == 400 and "belongs to an organization" in refused.text
    assert await subscription_row(sessions, (await grant_id(sessions, "ada@example.com"))) is None


async def grant_id(sessions, email: str) -> int:
    async with sessions() as session:
        return (await session.execute(select(User.id).where(User.email == email))).scalar_one()

