"""/settings/subscription with Stripe (respx on https://api.stripe.com): Checkout and the portal
redirect; the trial is asked for only for an account that never had one; a plan change is
prorated and written back at once."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from tests.billing.conftest import billing_settings
from tests.billing.support import PRICE_ENTERPRISE, PRICE_PRO, fixture, grant, subscription, subscription_row

API = "https://api.stripe.com"


@pytest.fixture
def settings(settings):  # noqa: F811 - this module runs the app in Stripe mode
    return replace(settings, billing=billing_settings("stripe"))


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


async def post(browser, action: str, data: dict | None = None):
    return await browser.submit("/settings/subscription", f"/settings/subscription/{action}", data or {})


@respx.mock
async def test_the_trial_goes_through_checkout_with_trial_days(as_ada, ada):
    route = respx.post(f"{API}/v1/checkout/sessions").mock(return_value=httpx.Response(200, json=fixture("checkout_session")))

    response = await post(as_ada, "trial")

    assert response.status_code == 303
    assert response.headers["location"] == fixture("checkout_session")["url"]
    body = form(route.calls.last.request)
    assert (body["mode"], body["line_items[0][price]"], body["client_reference_id"]) == ("subscription", PRICE_PRO, str(ada))
    assert body["subscription_data[trial_period_days]"] == "7"
    assert body["customer_email"] == "ada@example.com"
    assert body["success_url"].endswith("/settings/subscription?checkout=success")
    assert route.calls.last.request.headers["idempotency-key"].startswith(f"checkout-{ada}-pro-trial-")


@respx.mock
async def test_a_returning_customer_is_reused_and_gets_no_second_trial(as_ada, sessions, ada):
    await grant(sessions, ada, "pro", status="canceled", trial_used=True, stripe_customer_id="cus_ComputeHubAda01")
    route = respx.post(f"{API}/v1/checkout/sessions").mock(return_value=httpx.Response(200, json=fixture("checkout_session")))

    refused = await post(as_ada, "trial")
    assert refused.status_code == 400 and not route.called

    asked = await post(as_ada, "subscribe", {"plan": "pro"})
    assert asked.status_code == 200 and not route.called  # the confirmation step first
    assert "Stripe's checkout page" in asked.text
    response = await as_ada.post("/settings/subscription/subscribe", {"plan": "pro", "confirm": "yes"})

    assert response.headers["location"].startswith("https://checkout.stripe.com/")
    body = form(route.calls.last.request)
    assert body["customer"] == "cus_ComputeHubAda01" and "customer_email" not in body
    assert body["line_items[0][price]"] == PRICE_PRO
    assert "subscription_data[trial_period_days]" not in body


@respx.mock
async def test_the_same_form_submitted_twice_sends_the_same_idempotency_key(as_ada, ada):
    route = respx.post(f"{API}/v1/checkout/sessions").mock(return_value=httpx.Response(200, json=fixture("checkout_session")))
    page = (await as_ada.get("/settings/subscription")).text
    intent = page.split('name="intent" value="')[1].split('"')[0]
    confirmation = (await as_ada.post("/settings/subscription/subscribe", {"plan": "pro", "intent": intent})).text
    assert f'name="intent" value="{intent}"' in confirmation  # the confirmation form carries it on

    for _ in range(2):
        await as_ada.post("/settings/subscription/subscribe", {"plan": "pro", "intent": intent, "confirm": "yes"})

    keys = [call.request.headers["idempotency-key"] for call in route.calls]
    assert len(keys) == 2 and keys[0] == keys[1] == f"checkout-{ada}-pro-paid-{intent}"


@respx.mock
async def test_switching_tiers_is_prorated_and_shown_at_once(as_ada, sessions, ada):
    await grant(sessions, ada, "enterprise", status="active", stripe_customer_id="cus_ComputeHubAda01",
                stripe_subscription_id="sub_1ComputeHubAda01")
    respx.get(f"{API}/v1/subscriptions/sub_1ComputeHubAda01").mock(
        return_value=httpx.Response(200, json=subscription(ada, price=PRICE_ENTERPRISE)))
    update = respx.post(f"{API}/v1/subscriptions/sub_1ComputeHubAda01").mock(
        return_value=httpx.Response(200, json=subscription(ada, price=PRICE_PRO)))

    asked = await post(as_ada, "switch", {"plan": "pro"})
    assert asked.status_code == 200 and not update.called
    assert "Stripe prorates the difference" in asked.text and "\u2212$170.00/month" in asked.text
    response = await as_ada.post("/settings/subscription/switch", {"plan": "pro", "confirm": "yes"})

    assert response.headers["location"] == "/settings/subscription?done=switched"
    assert form(update.calls.last.request) == {"items[0][id]": "si_ComputeHubAda01", "items[0][price]": PRICE_PRO,
                                               "proration_behavior": "create_prorations"}
    assert (await subscription_row(sessions, ada)).plan_code == "pro"
    assert 'data-current-plan="pro"' in (await as_ada.get("/settings/subscription")).text


@respx.mock
async def test_downgrade_to_basic_cancels_at_the_end_of_the_period(as_ada, sessions, ada):
    await grant(sessions, ada, "pro", status="active", stripe_customer_id="cus_ComputeHubAda01",
                stripe_subscription_id="sub_1ComputeHubAda01")
    update = respx.post(f"{API}/v1/subscriptions/sub_1ComputeHubAda01").mock(
        return_value=httpx.Response(200, json=subscription(ada, cancel_at_period_end=True)))
    page = (await as_ada.get("/settings/subscription")).text
    assert 'data-action="downgrade">Downgrade to Basic at the end of the period' in page
    assert 'data-action="cancel"' not in page  # with Stripe the downgrade is the cancellation

    done = await post(as_ada, "downgrade")
    assert done.headers["location"] == "/settings/subscription?done=downgrade-scheduled"
    assert form(update.calls.last.request) == {"cancel_at_period_end": "true"}
    row = await subscription_row(sessions, ada)
    assert (row.plan_code, row.status, row.cancel_at_period_end) == ("pro", "active", True)
    assert (await as_ada.get("/console/templates")).status_code == 200  # paid until the period ends


@respx.mock
async def test_cancel_at_period_end_and_the_payment_portal(as_ada, sessions, ada):
    await grant(sessions, ada, "pro", status="active", stripe_customer_id="cus_ComputeHubAda01",
                stripe_subscription_id="sub_1ComputeHubAda01")
    update = respx.post(f"{API}/v1/subscriptions/sub_1ComputeHubAda01").mock(
        return_value=httpx.Response(200, json=subscription(ada, cancel_at_period_end=True)))
    portal = respx.post(f"{API}/v1/billing_portal/sessions").mock(
        return_value=httpx.Response(200, json=fixture("billing_portal_session")))

    assert (await post(as_ada, "cancel")).headers["location"] == "/settings/subscription?done=canceled"
    assert form(update.calls.last.request) == {"cancel_at_period_end": "true"}
    assert (await subscription_row(sessions, ada)).cancel_at_period_end is True

    to_portal = await post(as_ada, "payment-methods")
    assert to_portal.headers["location"] == fixture("billing_portal_session")["url"]
    assert form(portal.calls.last.request)["customer"] == "cus_ComputeHubAda01"
