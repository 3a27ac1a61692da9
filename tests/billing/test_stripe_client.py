"""The Stripe client against Stripe's API shapes (respx on https://api.stripe.com): the form-encoded
requests it sends, the idempotency keys, and what it makes of the answers."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from app.billing.client import BillingError, CheckoutRequest, CheckoutStarted, SubscriptionState
from app.billing.stripe_client import StripeBillingClient
from tests.billing.conftest import billing_settings
from tests.billing.support import PRICE_ENTERPRISE, PRICE_PRO, fixture, subscription

API = "https://api.stripe.com"


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode(), keep_blank_values=True).items()}


@pytest.fixture
async def client():
    client = StripeBillingClient(billing_settings("stripe"), max_network_retries=0)
    yield client
    await client.close()


def checkout_request(**changes) -> CheckoutRequest:
    values = dict(user_id=42, email="ada@example.com", plan_code="pro", price_id=PRICE_PRO, customer_id=None,
                  trial_days=None, success_url="https://hub.example/settings/subscription?checkout=success",
                  cancel_url="https://hub.example/settings/subscription?checkout=canceled",
                  idempotency_key="checkout-42-pro-paid-abcdefgh12")
    values.update(changes)
    return CheckoutRequest(**values)


CURRENT = SubscriptionState("pro", "active", datetime(2026, 12, 25, tzinfo=timezone.utc),
                            subscription_id="sub_1ComputeHubAda01", customer_id="cus_ComputeHubAda01")


@respx.mock
async def test_checkout_in_subscription_mode_for_a_new_customer(client):
    route = respx.post(f"{API}/v1/checkout/sessions").mock(return_value=httpx.Response(200, json=fixture("checkout_session")))

    started = await client.start_checkout(checkout_request())

    assert started == CheckoutStarted(fixture("checkout_session")["url"])
    sent = route.calls.last.request
    assert sent.headers["idempotency-key"] == "checkout-42-pro-paid-abcdefgh12"
    assert sent.headers["authorization"] == "Bearer sk_test_computehub"
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    body = form(sent)
    assert body["mode"] == "subscription"
    assert body["line_items[0][price]"] == PRICE_PRO
    assert body["line_items[0][quantity]"] == "1"
    assert body["client_reference_id"] == "42"
    assert body["customer_email"] == "ada@example.com"
    assert "customer" not in body
    assert body["success_url"] == "https://hub.example/settings/subscription?checkout=success"
    assert body["cancel_url"] == "https://hub.example/settings/subscription?checkout=canceled"
    assert body["subscription_data[metadata][user_id]"] == "42"
    assert "subscription_data[trial_period_days]" not in body


@respx.mock
async def test_checkout_reuses_the_customer_and_asks_for_the_trial_only_when_told(client):
    route = respx.post(f"{API}/v1/checkout/sessions").mock(return_value=httpx.Response(200, json=fixture("checkout_session")))

    await client.start_checkout(checkout_request(customer_id="cus_ComputeHubAda01", trial_days=7))

    body = form(route.calls.last.request)
    assert body["customer"] == "cus_ComputeHubAda01"
    assert "customer_email" not in body
    assert body["subscription_data[trial_period_days]"] == "7"


@respx.mock
async def test_portal_session_for_payment_methods_and_cancellation(client):
    route = respx.post(f"{API}/v1/billing_portal/sessions").mock(
        return_value=httpx.Response(200, json=fixture("billing_portal_session")))

    url = await client.portal_url("cus_ComputeHubAda01", "https://hub.example/settings/subscription", "portal-42-xyz12345")

    assert url == fixture("billing_portal_session")["url"]
    sent = route.calls.last.request
    assert form(sent) == {"customer": "cus_ComputeHubAda01", "return_url": "https://hub.example/settings/subscription"}
    assert sent.headers["idempotency-key"] == "portal-42-xyz12345"


@respx.mock
async def test_plan_change_replaces_the_item_price_with_prorations(client):
    current = subscription(42)
    changed = subscription(42, price=PRICE_ENTERPRISE)
    retrieve = respx.get(f"{API}/v1/subscriptions/sub_1ComputeHubAda01").mock(return_value=httpx.Response(200, json=current))
    update = respx.post(f"{API}/v1/subscriptions/sub_1ComputeHubAda01").mock(return_value=httpx.Response(200, json=changed))

    state = await client.change_plan(CURRENT, "enterprise", PRICE_ENTERPRISE, "switch-sub-enterprise-abcdefgh")

    assert retrieve.called
    sent = update.calls.last.request
    assert form(sent) == {"items[0][id]": "si_ComputeHubAda01", "items[0][price]": PRICE_ENTERPRISE,
                          "proration_behavior": "create_prorations"}
    assert sent.headers["idempotency-key"] == "switch-sub-enterprise-abcdefgh"
    assert (state.plan_code, state.status, state.subscription_id) == ("enterprise", "active", "sub_1ComputeHubAda01")
    assert state.current_period_end == datetime.fromtimestamp(changed["items"]["data"][0]["current_period_end"], timezone.utc)


@respx.mock
async def test_cancel_at_period_end_and_resume(client):
    route = respx.post(f"{API}/v1/subscriptions/sub_1ComputeHubAda01").mock(side_effect=[
        httpx.Response(200, json=subscription(42, cancel_at_period_end=True)),
        httpx.Response(200, json=subscription(42, cancel_at_period_end=False)),
    ])

    canceled = await client.set_cancel_at_period_end(CURRENT, True, "cancel-sub-abcdefgh")
    resumed = await client.set_cancel_at_period_end(CURRENT, False, "resume-sub-abcdefgh")

    first, second = (form(call.request) for call in route.calls)
    assert first == {"cancel_at_period_end": "true"}
    assert second == {"cancel_at_period_end": "false"}
    assert [c.request.headers["idempotency-key"] for c in route.calls] == ["cancel-sub-abcdefgh", "resume-sub-abcdefgh"]
    assert (canceled.cancel_at_period_end, resumed.cancel_at_period_end) == (True, False)


@respx.mock
async def test_a_stripe_error_becomes_a_safe_message(client):
    respx.post(f"{API}/v1/checkout/sessions").mock(return_value=httpx.Response(400, json={"error": {
        "type": "invalid_request_error", "code": "resource_missing", "param": "customer",
        "message": "No such customer: 'cus_secret_internal'"}}))

    with pytest.raises(BillingError) as refused:
        await client.start_checkout(checkout_request(customer_id="cus_secret_internal"))

    assert "cus_secret_internal" not in str(refused.value)
    assert "try again" in str(refused.value)
