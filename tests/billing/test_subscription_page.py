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


async def test_basic_sees_its_plan_and_the_ways_up(as_ada):
    doc = await open_page(as_ada)
    assert doc.one("span", data_current_plan="basic").text == "Basic"
    assert actions(doc) == ["trial", "subscribe-pro", "subscribe-enterprise"]
    assert "Local billing mode" in doc.one("p", data_billing_mode="local").text
    assert doc.one("p", class_="empty-state").text == "No invoices yet."
    pro = doc.one("div", data_plan="pro").text
    assert "$29.00" in pro and "Deployment templates" in pro and "Unlimited provider bindings" in pro


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
    upgraded = await post(as_ada, "subscribe", {"plan": "enterprise"})
    assert upgraded.headers["location"] == "/settings/subscription?done=subscribed"
    doc = await open_page(as_ada)
    assert doc.one("span", data_current_plan="enterprise").text == "Enterprise"
    assert doc.find("dd", data_renews="") is not None
    assert actions(doc) == ["switch-pro", "cancel"]
    [invoice] = [tr for tr in doc.find_all("tr") if tr.get("data-invoice")]
    assert "199.00 USD" in invoice.text and "local demo: nothing charged" in invoice.text

    assert (await post(as_ada, "switch", {"plan": "pro"})).headers["location"] == "/settings/subscription?done=switched"
    assert (await open_page(as_ada)).one("span", data_current_plan="pro").text == "Pro"

    assert (await post(as_ada, "cancel")).headers["location"] == "/settings/subscription?done=canceled"
    doc = await open_page(as_ada)
    assert "then the account moves to Basic" in doc.one("dd", data_ends="").text
    assert actions(doc) == ["switch-enterprise", "resume"]
    assert (await as_ada.get("/console/templates")).status_code == 200  # paid until the period ends

    await post(as_ada, "resume")
    row = await subscription_row(sessions, ada)
    assert (row.plan_code, row.status, row.cancel_at_period_end) == ("pro", "active", False)


async def test_bad_requests_are_explained(as_ada):
    unknown = await post(as_ada, "subscribe", {"plan": "basic"})
    assert unknown.status_code == 400
    assert parse_html(unknown.text).one("p", class_="alert-error").text == "Choose the Pro or the Enterprise plan."
    no_sub = await post(as_ada, "switch", {"plan": "pro"})
    assert "subscribe first" in parse_html(no_sub.text).one("p", class_="alert-error").text
    portal = await post(as_ada, "payment-methods")
    assert portal.status_code == 400
    assert "Local billing mode has no payment methods" in portal.text
    await post(as_ada, "subscribe", {"plan": "pro"})
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
