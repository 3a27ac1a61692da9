"""POST /webhooks/stripe: signed deliveries change the account once, in any order, and a
downgrade disables (never deletes) the bindings the new plan has no room for."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.billing.entitlements import entitlements
from app.db.models import QuotaUsage, StripeEvent
from app.db.types import utcnow
from tests.billing.conftest import add_sandbox_binding
from tests.billing.support import (
    PRICE_ENTERPRISE,
    bindings_of,
    deliver,
    event,
    fixture,
    invoice,
    sign,
    subscription,
    subscription_row,
)


async def plan_now(sessions, user_id: int, now=None, grace_days: int = 7) -> str:
    async with sessions() as session:
        return (await entitlements(session, user_id, now, grace_days)).plan_code


async def test_a_bad_or_missing_signature_is_refused_and_changes_nothing(browser, sessions, ada):
    raw = json.dumps(event("evt_forged", "customer.subscription.created", subscription(ada), int(time.time()))).encode()

    forged = await browser.http.post("/webhooks/stripe", content=raw,
                                      headers={"stripe-signature": sign(raw, "whsec_someone_else")})
    unsigned = await browser.http.post("/webhooks/stripe", content=raw)
    tampered = await browser.http.post("/webhooks/stripe", content=raw.replace(b"active", b"trialing"),
                                       headers={"stripe-signature": sign(raw)})
    stale = await browser.http.post("/webhooks/stripe", content=raw,
                                    headers={"stripe-signature": sign(raw, timestamp=int(time.time()) - 3600)})

    assert [r.status_code for r in (forged, unsigned, tampered, stale)] == [400, 400, 400, 400]
    assert await subscription_row(sessions, ada) is None
    async with sessions() as session:
        assert (await session.execute(select(func.count()).select_from(StripeEvent))).scalar_one() == 0


async def test_the_same_event_replayed_ten_times_applies_once(browser, sessions, ada):
    now = int(time.time())
    paid = event("evt_invoice_paid_1", "invoice.paid", invoice(ada, created=now), now)
    created = event("evt_sub_created_1", "customer.subscription.created", subscription(ada), now - 5)
    assert (await deliver(browser.http, created)).json()["outcome"] == "subscription active"

    answers = [await deliver(browser.http, paid) for _ in range(10)]

    assert [a.status_code for a in answers] == [200] * 10
    assert [a.json()["outcome"] for a in answers] == ["invoice recorded"] + ["duplicate"] * 9
    async with sessions() as session:
        assert (await session.execute(select(func.count()).select_from(StripeEvent))).scalar_one() == 2
    row = await subscription_row(sessions, ada)
    assert (row.plan_code, row.status, row.stripe_customer_id) == ("pro", "active", "cus_ComputeHubAda01")


async def test_the_invoice_list_shows_each_invoice_once(as_ada, sessions, ada):
    now = int(time.time())
    await deliver(as_ada.http, event("evt_c", "customer.subscription.created", subscription(ada), now - 10))
    for _ in range(3):
        await deliver(as_ada.http, event("evt_i", "invoice.paid", invoice(ada, created=now), now))

    page = (await as_ada.get("/settings/subscription")).text

    assert page.count('data-invoice="in_1ComputeHubAda01"') == 1
    assert "29.00 USD" in page and "invoice.stripe.com" in page
    assert 'data-current-plan="pro"' in page


async def test_an_update_arriving_before_its_create_ends_in_the_newer_state(browser, sessions, ada):
    t = int(time.time())
    created = event("evt_c", "customer.subscription.created", subscription(ada, status="trialing",
                                                                          trial_end=t + 7 * 86400), t - 60)
    updated = event("evt_u", "customer.subscription.updated", subscription(ada, status="active",
                                                                          cancel_at_period_end=True), t)

    assert (await deliver(browser.http, updated)).json()["outcome"] == "subscription active"
    assert (await deliver(browser.http, created)).json()["outcome"] == "stale"

    row = await subscription_row(sessions, ada)
    assert (row.status, row.cancel_at_period_end, row.stripe_state_at) == ("active", True, t)
    assert row.trial_used is False  # the trial it missed is still the account's one trial


async def test_an_old_active_after_a_newer_canceled_stays_canceled(browser, sessions, keyring, ada):
    await add_sandbox_binding(sessions, keyring, ada, "first")
    t = int(time.time())
    await deliver(browser.http, event("evt_1", "customer.subscription.created", subscription(ada), t - 300))
    await add_sandbox_binding(sessions, keyring, ada, "second")
    deleted = event("evt_3", "customer.subscription.deleted", subscription(ada, status="canceled"), t)
    late_active = event("evt_2", "customer.subscription.updated", subscription(ada, status="active"), t - 100)

    await deliver(browser.http, deleted)
    assert (await deliver(browser.http, late_active)).json()["outcome"] == "stale"

    row = await subscription_row(sessions, ada)
    assert row.status == "canceled"
    assert await plan_now(sessions, ada) == "basic"
    assert [b.status for b in await bindings_of(sessions, ada)] == ["verified", "disabled"]


async def test_deleted_downgrades_and_disables_extra_bindings_without_deleting_them(as_ada, sessions, keyring, ada):
    t = int(time.time())
    await deliver(as_ada.http, event("evt_1", "customer.subscription.created", subscription(ada), t - 100))
    ids = [await add_sandbox_binding(sessions, keyring, ada, name) for name in ("one", "two", "three")]

    await deliver(as_ada.http, event("evt_2", "customer.subscription.deleted", subscription(ada, status="canceled"), t))

    rows = await bindings_of(sessions, ada)
    assert [r.id for r in rows] == ids  # nothing removed
    assert [r.status for r in rows] == ["verified", "disabled", "disabled"]
    assert "Basic plan allows 1 provider binding" in rows[1].status_message
    assert "/settings/subscription" in rows[1].status_message
    page = (await as_ada.get("/settings/providers")).text
    assert page.count('data-status="disabled"') == 2
    assert "Nothing was deleted: upgrade at /settings/subscription" in page

    # Coming back to a paid plan enables them again (the keys are to be checked again).
    again = subscription(ada, sub_id="sub_1ComputeHubAda02", price=PRICE_ENTERPRISE)
    await deliver(as_ada.http, event("evt_3", "customer.subscription.created", again, t + 10))
    rows = await bindings_of(sessions, ada)
    assert [r.status for r in rows] == ["verified", "unverified", "unverified"]
    assert (await subscription_row(sessions, ada)).plan_code == "enterprise"
    async with sessions() as session:
        usage = await session.get(QuotaUsage, (ada, "bindings"))
    assert usage.used == 3


async def test_past_due_keeps_pro_for_the_grace_period_then_locks_it(browser, sessions, ada):
    t = int(time.time())
    await deliver(browser.http, event("evt_1", "customer.subscription.created", subscription(ada), t - 100))

    failed = invoice(ada, invoice_id="in_failed_1", status="open", created=t)
    answer = await deliver(browser.http, event("evt_2", "invoice.payment_failed", failed, t))

    assert answer.json()["outcome"] == "invoice recorded, subscription past_due"
    row = await subscription_row(sessions, ada)
    assert row.status == "past_due"
    assert abs((row.past_due_since - utcnow()).total_seconds()) < 60
    assert await plan_now(sessions, ada, utcnow() + timedelta(days=6)) == "pro"
    assert await plan_now(sessions, ada, utcnow() + timedelta(days=8)) == "basic"

    # Paid after all: back to active, grace cleared.
    await deliver(browser.http, event("evt_3", "invoice.paid", invoice(ada, invoice_id="in_failed_1", created=t), t + 5))
    row = await subscription_row(sessions, ada)
    assert (row.status, row.past_due_since) == ("active", None)
    assert await plan_now(sessions, ada, utcnow() + timedelta(days=8)) == "pro"


async def test_checkout_completed_links_the_customer_to_the_account(browser, sessions, ada):
    t = int(time.time())
    done = fixture("checkout_session", client_reference_id=str(ada), customer="cus_ComputeHubAda01",
                   subscription="sub_1ComputeHubAda01", status="complete", payment_status="paid")

    assert (await deliver(browser.http, event("evt_1", "checkout.session.completed", done, t))).json()["outcome"] == "linked"
    row = await subscription_row(sessions, ada)
    assert (row.stripe_customer_id, row.stripe_subscription_id, row.plan_code) == (
        "cus_ComputeHubAda01", "sub_1ComputeHubAda01", "basic")

    # The subscription event that follows finds the account by the customer (no metadata needed).
    sub = subscription(ada, status="trialing", trial_end=t + 7 * 86400)
    sub["metadata"] = {}
    await deliver(browser.http, event("evt_2", "customer.subscription.created", sub, t))
    row = await subscription_row(sessions, ada)
    assert (row.plan_code, row.status, row.trial_used) == ("pro", "trialing", True)


async def test_an_event_for_an_unknown_account_is_acknowledged_and_ignored(browser, sessions):
    sub = subscription(999_999, customer="cus_nobody", sub_id="sub_nobody")
    answer = await deliver(browser.http, event("evt_x", "customer.subscription.updated", sub, int(time.time())))
    assert (answer.status_code, answer.json()["outcome"]) == (200, "unknown account")


async def _nothing_recorded(sessions, user_id: int) -> None:
    assert await subscription_row(sessions, user_id) is None
    async with sessions() as session:
        assert (await session.execute(select(func.count()).select_from(StripeEvent))).scalar_one() == 0


async def test_a_signature_from_the_future_is_refused_and_changes_nothing(browser, sessions, ada):
    raw = json.dumps(event("evt_future", "customer.subscription.created", subscription(ada), int(time.time()))).encode()
    tolerance = 300  # Stripe's default, both ways

    future = await browser.http.post("/webhooks/stripe", content=raw,
                                     headers={"stripe-signature": sign(raw, timestamp=int(time.time()) + 3600)})
    just_over = await browser.http.post("/webhooks/stripe", content=raw, headers={
        "stripe-signature": sign(raw, timestamp=int(time.time()) + tolerance + 30)})

    assert (future.status_code, just_over.status_code) == (400, 400)
    assert "future" in future.json()["error"]
    await _nothing_recorded(sessions, ada)

    # A clock a little ahead of ours is fine.
    slightly = await browser.http.post("/webhooks/stripe", content=raw,
                                       headers={"stripe-signature": sign(raw, timestamp=int(time.time()) + 60)})
    assert slightly.status_code == 200


def _without(obj: dict, path: str) -> dict:
    *parents, last = path.split(".")
    for key in parents:
        obj = obj[key]
    del obj[last]
    return obj


def _with(obj: dict, path: str, value) -> None:
    *parents, last = path.split(".")
    for key in parents:
        obj = obj[key] if not isinstance(obj, list) else obj[int(key)]
    obj[last] = value


MALFORMED = [
    # (event type, dotted path in the envelope, None to delete it or the wrong value)
    ("customer.subscription.created", "created", None),
    ("customer.subscription.created", "created", "yesterday"),
    ("customer.subscription.created", "created", 2**63),
    ("customer.subscription.created", "id", None),
    ("customer.subscription.created", "id", 42),
    ("customer.subscription.created", "type", None),
    ("customer.subscription.created", "data", None),
    ("customer.subscription.created", "data.object", None),
    ("customer.subscription.created", "data.object", "sub_1"),
    ("customer.subscription.created", "data.object.id", ["sub_1"]),
    ("customer.subscription.created", "data.object.customer", 12),
    ("customer.subscription.created", "data.object.customer", "cus_" + "x" * 100),
    ("customer.subscription.created", "data.object.metadata", "user 1"),
    ("customer.subscription.created", "data.object.metadata.user_id", {"id": 1}),
    ("customer.subscription.created", "data.object.items", ["si_1"]),
    ("customer.subscription.created", "data.object.items.data", {"id": "si_1"}),
    ("customer.subscription.created", "data.object.items.data.0.price", "price_1"),
    ("customer.subscription.created", "data.object.items.data.0.current_period_end", "soon"),
    ("customer.subscription.created", "data.object.trial_end", 10**20),
    ("customer.subscription.created", "data.object.cancel_at_period_end", "yes"),
    ("invoice.paid", "data.object.id", None),
    ("invoice.paid", "data.object.amount_paid", "29.00"),
    ("invoice.paid", "data.object.currency", 840),
    ("invoice.paid", "data.object.created", -5),
    ("invoice.paid", "data.object.parent", ["x"]),
    ("invoice.paid", "data.object.hosted_invoice_url", "https://invoice.stripe.com/" + "x" * 600),
    ("checkout.session.completed", "data.object.customer", {"id": "cus_1"}),
]


@pytest.mark.parametrize(("type_", "path", "value"), MALFORMED)
async def test_an_event_with_a_missing_or_mistyped_field_is_a_400_and_changes_nothing(
        browser, sessions, ada, type_, path, value):
    obj = {"invoice.paid": lambda: invoice(ada), "checkout.session.completed": lambda: fixture(
        "checkout_session", client_reference_id=str(ada), customer="cus_ComputeHubAda01",
        subscription="sub_1ComputeHubAda01")}.get(type_, lambda: subscription(ada))()
    evt = event("evt_malformed", type_, obj, int(time.time()))
    if value is None:
        _without(evt, path)
    else:
        _with(evt, path, value)

    answer = await deliver(browser.http, evt)

    assert answer.status_code == 400, answer.text
    # Named by the webhook, or (a number no JSON field should hold) by the app's input guard before it.
    assert any(reason in answer.text for reason in ("malformed event", "out of range")), answer.text[:300]
    await _nothing_recorded(sessions, ada)


async def test_an_account_id_no_row_can_have_is_an_unknown_account(browser, sessions, ada):
    sub = subscription(ada, customer="cus_nobody", sub_id="sub_nobody")
    sub["metadata"] = {"user_id": "99999999999999999999"}
    answer = await deliver(browser.http, event("evt_big", "customer.subscription.updated", sub, int(time.time())))
    assert (answer.status_code, answer.json()["outcome"]) == (200, "unknown account")
