"""/settings/subscription in local billing mode (no Stripe: every change takes effect at once),
the clock ending trials, and /admin/billing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from app.auth import totp
from app.billing.lapses import enforce_lapsed
from app.db.models import Invoice
from app.db.types import utcnow
from app.security.keyring import keyring_from_settings
from tests.auth.support import PASSWORD, make_user
from tests.billing.conftest import add_sandbox_binding, new_account
from tests.billing.support import bindings_of, grant, subscription_row
from tests.web.html import parse_html


async def open_page(browser):
    page = await browser.get("/settings/subscription")
    assert page.status_code == 200, page.text[:300]
    return parse_html(page.text)


def actions(doc) -> list[str]:
    return [b.get("data-action") for b in doc.find_all("button") if b.get("data-action")]


async def post(browser, action: str, data: dict | None = None):
    return await browser.submit("/settings/subscription", f"/settings/subscription/{action}", data or {})


async def confirmed(browser, action: str, plan: str):
    """Both steps of a paid change: the confirmation is shown first, then its form is sent."""
    asked = await post(browser, action, {"plan": plan})
    assert asked.status_code == 200, asked.text[:300]
    assert parse_html(asked.text).find("section", data_confirm=f"{action}-{plan}") is not None
    return await browser.post(f"/settings/subscription/{action}", {"plan": plan, "confirm": "yes"})


async def test_basic_sees_its_plan_and_the_ways_up(as_ada):
    doc = await open_page(as_ada)
    assert doc.one("span", data_current_plan="basic").text == "Basic"
    assert actions(doc) == ["trial", "subscribe-pro"]
    banner = doc.one("p", data_billing_mode="local").text
    assert "Local billing mode" in banner and "nothing is charged" in banner
    assert doc.one("p", class_="empty-state").text == "No invoices yet."
    pro = doc.one("div", data_plan="pro").text
    assert "$29.00" in pro and "Deployment templates" in pro and "Unlimited provider bindings" in pro


async def test_the_plans_list_only_features_that_are_built(as_ada):
    page = (await as_ada.get("/settings/subscription")).text
    for planned in ("Project billing", "Node pools", "node_pools"):
        assert planned not in page
    doc = parse_html(page)
    pro_lines = [li.text for li in doc.one("div", data_plan="pro").find_all("li")]
    enterprise_lines = [li.text for li in doc.one("div", data_plan="enterprise").find_all("li")]
    assert "Batch actions" in pro_lines and "Auto-repair" in pro_lines and "Full price history" in pro_lines
    # Enterprise adds one built feature, organizations (with its gates): so it is on sale, to organizations.
    assert [line for line in enterprise_lines if line not in pro_lines] == [
        "Organizations: invitations, projects and more than one organization key"]
    assert doc.one("div", data_plan="enterprise").find("p", data_not_on_sale="") is None
    refused = await post(as_ada, "subscribe", {"plan": "enterprise", "confirm": "yes"})
    assert refused.status_code == 400
    assert "belongs to an organization" in parse_html(refused.text).one("p", class_="alert-error").text


async def test_a_paid_change_shows_the_price_difference_before_it_is_made(as_ada, sessions, ada):
    asked = await post(as_ada, "subscribe", {"plan": "pro"})
    assert asked.status_code == 200
    doc = parse_html(asked.text)
    assert doc.one("dd", data_price_difference="29.00").text == "+$29.00/month"
    assert doc.find("button", data_action="confirm-subscribe-pro") is not None
    assert "Stripe" not in doc.one("section", data_confirm="subscribe-pro").text
    assert await subscription_row(sessions, ada) is None  # nothing changed yet

    done = await as_ada.post("/settings/subscription/subscribe", {"plan": "pro", "confirm": "yes"})
    assert done.headers["location"] == "/settings/subscription?done=subscribed"
    assert (await subscription_row(sessions, ada)).plan_code == "pro"

    # An Enterprise subscriber from before moving to Pro: a saving, shown, then made on confirmation.
    await grant(sessions, ada, "enterprise")
    asked = parse_html((await post(as_ada, "switch", {"plan": "pro"})).text)
    assert asked.one("dd", data_price_difference="-170.00").text == "\u2212$170.00/month"
    assert (await subscription_row(sessions, ada)).plan_code == "enterprise"
    switched = await as_ada.post("/settings/subscription/switch", {"plan": "pro", "confirm": "yes"})
    assert switched.headers["location"] == "/settings/subscription?done=switched"
    assert (await subscription_row(sessions, ada)).plan_code == "pro"
    notice = parse_html((await as_ada.get(switched.headers["location"])).text).one("p", class_="alert-ok").text
    assert "Stripe" not in notice and "prorat" not in notice and "nothing is charged" in notice


async def test_downgrade_to_basic_is_immediate_in_local_mode(as_ada, sessions, keyring, ada):
    await grant(sessions, ada, "pro", trial_used=True)
    for label in ("a", "b"):
        await add_sandbox_binding(sessions, keyring, ada, label)
    assert "downgrade" in actions(await open_page(as_ada))

    done = await post(as_ada, "downgrade")
    assert done.headers["location"] == "/settings/subscription?done=downgraded"
    doc = parse_html((await as_ada.get(done.headers["location"])).text)
    assert doc.one("span", data_current_plan="basic").text == "Basic"
    assert "You are on Basic now" in doc.one("p", class_="alert-ok").text
    assert actions(doc) == ["subscribe-pro"]
    assert (await as_ada.get("/console/templates")).status_code == 403
    assert [b.status for b in await bindings_of(sessions, ada)] == ["verified", "disabled"]
    assert (await post(as_ada, "downgrade")).status_code == 400


async def test_the_trial_starts_once_and_opens_pro_features(as_ada, sessions, ada):
    started = await post(as_ada, "trial")
    assert started.status_code == 303 and started.headers["location"] == "/settings/subscription?done=trial"

    doc = parse_html((await as_ada.get(started.headers["location"])).text)
    assert doc.one("span", data_current_plan="pro").text == "Pro"
    assert doc.one("dd", data_status="trialing").text == "free trial"
    trial_end = (await subscription_row(sessions, ada)).trial_end
    assert timedelta(days=6, hours=23) < trial_end - utcnow() <= timedelta(days=7)
    assert "trial" not in actions(doc)
    assert (await as_ada.get("/console/templates")).status_code == 200

    # The trial runs out: Basic again, and no second trial.
    await grant(sessions, ada, "pro", status="trialing", trial_used=True, trial_end=utcnow() - timedelta(hours=1))
    doc = await open_page(as_ada)
    assert doc.one("span", data_current_plan="basic").text == "Basic"
    assert doc.one("dd", data_lapsed="").text == "trial ended"
    assert "trial" not in actions(doc)
    again = await post(as_ada, "trial")
    assert again.status_code == 400
    assert "once per account" in parse_html(again.text).one("p", class_="alert-error").text
    assert (await as_ada.get("/console/templates")).status_code == 403


async def test_upgrade_switch_cancel_and_resume(as_ada, sessions, ada):
    upgraded = await confirmed(as_ada, "subscribe", "pro")
    assert upgraded.headers["location"] == "/settings/subscription?done=subscribed"
    doc = await open_page(as_ada)
    assert doc.one("span", data_current_plan="pro").text == "Pro"
    assert doc.find("dd", data_renews="") is not None
    assert actions(doc) == ["cancel", "downgrade"]
    [invoice] = [tr for tr in doc.find_all("tr") if tr.get("data-invoice")]
    assert "29.00 USD" in invoice.text and "local demo: nothing charged" in invoice.text

    await grant(sessions, ada, "enterprise")  # subscribed before Enterprise was taken off sale
    doc = await open_page(as_ada)
    assert actions(doc) == ["switch-pro", "cancel", "downgrade"]
    assert "prorat" not in doc.text and "Stripe" not in doc.text  # local mode: nothing is prorated
    assert (await confirmed(as_ada, "switch", "pro")).headers["location"] == "/settings/subscription?done=switched"
    assert (await open_page(as_ada)).one("span", data_current_plan="pro").text == "Pro"

    assert (await post(as_ada, "cancel")).headers["location"] == "/settings/subscription?done=canceled"
    doc = await open_page(as_ada)
    assert "then the account moves to Basic" in doc.one("dd", data_ends="").text
    assert actions(doc) == ["resume", "downgrade"]
    assert (await as_ada.get("/console/templates")).status_code == 200  # paid until the period ends

    await post(as_ada, "resume")
    row = await subscription_row(sessions, ada)
    assert (row.plan_code, row.status, row.cancel_at_period_end) == ("pro", "active", False)


async def test_bad_requests_are_explained(as_ada):
    unknown = await post(as_ada, "subscribe", {"plan": "basic"})
    assert unknown.status_code == 400
    assert parse_html(unknown.text).one("p", class_="alert-error").text == "Choose the Pro plan."
    no_sub = await post(as_ada, "switch", {"plan": "pro"})
    assert "subscribe first" in parse_html(no_sub.text).one("p", class_="alert-error").text
    portal = await post(as_ada, "payment-methods")
    assert portal.status_code == 400
    assert "Local billing mode has no payment methods" in portal.text
    await confirmed(as_ada, "subscribe", "pro")
    twice = await post(as_ada, "subscribe", {"plan": "pro"})
    assert "already have a subscription" in parse_html(twice.text).one("p", class_="alert-error").text


async def test_the_page_needs_a_login(browser):
    response = await browser.get("/settings/subscription")
    assert response.status_code in (302, 303) and response.headers["location"].startswith("/login")


async def test_a_lapsed_trial_disables_extra_bindings_when_the_clock_runs_out(sessions, keyring, settings, ada):
    await grant(sessions, ada, "pro", status="trialing", trial_used=True, trial_end=utcnow() + timedelta(days=7))
    for label in ("a", "b", "c"):
        await add_sandbox_binding(sessions, keyring, ada, label)

    assert await enforce_lapsed(sessions, 7, now=utcnow() + timedelta(days=1)) == 0
    assert [b.status for b in await bindings_of(sessions, ada)] == ["verified"] * 3

    assert await enforce_lapsed(sessions, 7, now=utcnow() + timedelta(days=8)) == 1
    assert [b.status for b in await bindings_of(sessions, ada)] == ["verified", "disabled", "disabled"]
    assert (await subscription_row(sessions, ada)).status == "canceled"


# ---- /admin/billing --------------------------------------------------------------------------

async def admin_browser(new_browser, sessions, settings):
    _, secret = await make_user(sessions, "root@example.com", is_admin=True,
                                totp_keyring=keyring_from_settings(settings))
    b = new_browser("198.51.100.9")
    assert (await b.login("root@example.com", PASSWORD)).headers["location"] == "/login/2fa"
    await b.submit("/login/2fa", "/login/2fa", {"code": totp.code_at(secret)})
    return b


async def paid_invoices(sessions, user_id: int, paid: int, failed: int = 0) -> None:
    async with sessions() as session, session.begin():
        for n in range(paid + failed):
            session.add(Invoice(user_id=user_id, stripe_invoice_id=f"in_{user_id}_{n}", amount=Decimal("29"),
                                currency="usd", status="paid" if n < paid else "payment_failed",
                                hosted_invoice_url=None, created_at=utcnow()))


async def test_admin_sees_tiers_and_the_targets(new_browser, sessions, settings, as_ada, ada):
    trials = [await new_account(sessions, f"trial{n}@example.com") for n in range(3)]
    for user_id in trials:
        await grant(sessions, user_id, "pro", status="trialing", trial_used=True, trial_end=utcnow() + timedelta(days=3))
    await grant(sessions, trials[0], "pro", status="active", trial_used=True)
    await paid_invoices(sessions, trials[0], paid=19, failed=1)
    admin = await admin_browser(new_browser, sessions, settings)

    doc = parse_html((await admin.get("/admin/billing")).text)

    conversion = doc.one("tr", data_figure="conversion")
    assert "1 / 3" in conversion.text and "33.3 %" in conversion.text and "> 5 %" in conversion.text
    assert conversion.find("td", data_met="yes") is not None
    success = doc.one("tr", data_figure="payment-success")
    assert "19 / 20" in success.text and "95.0 %" in success.text and "> 95 %" in success.text
    assert success.find("td", data_met="no") is not None  # 95 % is not above 95 %
    assert doc.one("tr", data_account="trial0@example.com").find("td", data_tier="").text == "Pro"
    assert doc.one("tr", data_account="ada@example.com").find("td", data_tier="").text == "Basic"

    # Not for everyone.
    assert (await as_ada.get("/admin/billing")).status_code == 403


async def test_a_failed_payment_shows_the_grace_period(as_ada, sessions, ada):
    since = utcnow() - timedelta(days=2)
    await grant(sessions, ada, "pro", status="past_due", past_due_since=since)

    doc = await open_page(as_ada)

    assert doc.one("span", data_current_plan="pro").text == "Pro"
    assert doc.one("dd", data_status="past_due").text == "payment overdue"
    grace = doc.one("dd", data_grace_until="").text
    assert (since + timedelta(days=7)).strftime("%Y-%m-%d %H:%M") in grace
    assert "Paid features stay open until" in grace
