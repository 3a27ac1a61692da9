"""An organization bought through Stripe (respx on https://api.stripe.com, responses shaped like
Stripe's documented ones; signed webhooks): the checkout names the organization and never the
paying member's own customer, and the webhook events write the organization's row and invoice,
leaving the member's personal Pro subscription as it was. SQLite and PostgreSQL."""

from __future__ import annotations

import time
from dataclasses import replace
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from sqlalchemy import select

from app.db.models import Invoice, Subscription, User
from app.workspaces import organizations
from tests.billing.conftest import billing_settings
from tests.billing.support import (
    PRICE_ENTERPRISE,
    deliver,
    event,
    fixture,
    grant,
    invoice,
    subscription,
    subscription_row,
)
from tests.console.conftest import PASSWORD, make_account

API = "https://api.stripe.com"


@pytest.fixture
def settings(settings):  # noqa: F811 - this module runs the app in Stripe mode
    return replace(settings, billing=billing_settings("stripe"))


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


async def org_row(sessions, workspace_id: int) -> Subscription:
    async with sessions() as session:
        return (await session.execute(select(Subscription).where(Subscription.workspace_id == workspace_id))).scalar_one()


@respx.mock
async def test_an_organization_checkout_and_its_webhooks_write_the_organizations_row(sessions, keyring, new_browser):
    owner = await make_account(sessions, keyring, "owner@example.com")
    payer = await make_account(sessions, keyring, "payer@example.com")
    await grant(sessions, payer.user_id, "pro", stripe_customer_id="cus_PayerPersonal", stripe_subscription_id="sub_PayerPro")
    async with sessions() as session, session.begin():
        scope = await organizations.create(session, await session.get(User, owner.user_id), "Acme ML")
        await organizations.add_member(session, scope, payer.email, "billing")
    org = scope.workspace_id
    checkout = respx.post(f"{API}/v1/checkout/sessions").mock(
        return_value=httpx.Response(200, json=fixture("checkout_session")))

    browser = new_browser()
    assert (await browser.login(payer.email, PASSWORD)).status_code in (302, 303)
    await browser.get(f"/workspaces/{org}/billing")
    response = await browser.post(f"/workspaces/{org}/billing/subscribe", {})

    assert response.status_code == 303 and response.headers["location"] == fixture("checkout_session")["url"]
    body = form(checkout.calls.last.request)
    assert body["line_items[0][price]"] == PRICE_ENTERPRISE
    assert (body["metadata[workspace_id]"], body["subscription_data[metadata][workspace_id]"]) == (str(org), str(org))
    assert body["client_reference_id"] == str(payer.user_id)
    assert body["customer_email"] == payer.email and "customer" not in body  # a new customer: the organization's
    assert "subscription_data[trial_period_days]" not in body  # its trial was ours, already given
    assert body["success_url"].endswith(f"/workspaces/{org}/billing?checkout=success")
    assert checkout.calls.last.request.headers["idempotency-key"].startswith(f"org-checkout-{org}-enterprise-")
    assert (await org_row(sessions, org)).status == "trialing"  # nothing changes before Stripe says so

    t = int(time.time())
    done = fixture("checkout_session", client_reference_id=str(payer.user_id), customer="cus_AcmeOrg01",
                   subscription="sub_AcmeOrg01", status="complete", payment_status="paid",
                   metadata={"user_id": str(payer.user_id), "workspace_id": str(org), "plan": "enterprise"})
    assert (await deliver(browser.http, event("evt_org_1", "checkout.session.completed", done, t))).json()["outcome"] == "linked"
    sub = subscription(payer.user_id, price=PRICE_ENTERPRISE, sub_id="sub_AcmeOrg01", customer="cus_AcmeOrg01")
    sub["metadata"] = {"user_id": str(payer.user_id), "workspace_id": str(org)}
    assert (await deliver(browser.http, event("evt_org_2", "customer.subscription.created", sub, t + 1))).json()[
        "outcome"] == "subscription active"
    paid = invoice(payer.user_id, invoice_id="in_AcmeOrg01", sub_id="sub_AcmeOrg01", amount=19900)
    paid["customer"] = "cus_AcmeOrg01"
    paid["parent"]["subscription_details"]["metadata"]["workspace_id"] = str(org)
    await deliver(browser.http, event("evt_org_3", "invoice.paid", paid, t + 2))

    row = await org_row(sessions, org)
    assert (row.plan_code, row.status, row.stripe_customer_id, row.stripe_subscription_id) == (
        "enterprise", "active", "cus_AcmeOrg01", "sub_AcmeOrg01")
    personal = await subscription_row(sessions, payer.user_id)
    assert (personal.plan_code, personal.stripe_customer_id, personal.stripe_subscription_id) == (
        "pro", "cus_PayerPersonal", "sub_PayerPro")
    async with sessions() as session:
        invoices = [tuple(r) for r in (await session.execute(
            select(Invoice.stripe_invoice_id, Invoice.workspace_id, Invoice.user_id))).all()]
    assert invoices == [("in_AcmeOrg01", org, payer.user_id)]
    page = await browser.get(f"/workspaces/{org}/billing")
    assert 'data-org-plan="enterprise"' in page.text and 'data-invoice="in_AcmeOrg01"' in page.text
    assert 'data-action="org-subscribe"' not in page.text and 'data-action="org-cancel"' in page.text


@respx.mock
async def test_an_organization_event_found_only_by_its_metadata_creates_no_personal_row(sessions, keyring, new_browser):
    owner = await make_account(sessions, keyring, "owner@example.com")
    async with sessions() as session, session.begin():
        scope = await organizations.create(session, await session.get(User, owner.user_id), "Acme ML")
    browser = new_browser()
    sub = subscription(owner.user_id, price=PRICE_ENTERPRISE, sub_id="sub_AcmeOrg02", customer="cus_AcmeOrg02")
    sub["metadata"] = {"user_id": str(owner.user_id), "workspace_id": str(scope.workspace_id)}

    outcome = await deliver(browser.http, event("evt_org_9", "customer.subscription.updated", sub, int(time.time())))

    assert outcome.json()["outcome"] == "subscription active"
    assert (await org_row(sessions, scope.workspace_id)).stripe_customer_id == "cus_AcmeOrg02"
    assert await subscription_row(sessions, owner.user_id) is None
