"""/settings/notifications as a logged-in user uses it: the forms, what the page shows after
each, and what a Basic account can and cannot do."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from app.db.models import Budget, NotificationPreference, PriceAlert, TelegramLinkToken
from app.db.types import utcnow
from app.notifications import linking
from app.notifications.events import EVENT_TYPES
from app.workspaces.scope import personal_workspace_id
from tests.notifications.conftest import BOT_USERNAME, make_user
from tests.web.html import parse_html

PAGE = "/settings/notifications"


def alert_rows(doc):
    return [n for n in doc.one("table", class_="alerts").find_all("tr") if "data-alert" in n.attrs]


def switches(doc) -> dict[str, bool]:
    return {n.get("data-pref"): "checked" in n.attrs for n in doc.find_all("input", type="checkbox", name="pref")}


async def test_login_required(app):
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=app) as client:
        response = await client.get(PAGE, follow_redirects=False)
    assert response.status_code in (302, 303) and response.headers["location"].startswith("/login")


async def test_switches_are_saved_and_shown_again(sessions, login):
    await make_user(sessions, "pro@example.com", "pro")
    browser = await login("pro@example.com")
    doc = await browser.page(PAGE)
    before = switches(doc)
    assert len(before) == 2 * len(EVENT_TYPES) == 12 and before["failure:email"] and not before["deployment_state:email"]
    assert doc.find(class_="locked-banner") is None

    wanted = ["deployment_state:email", "failure:telegram", "price_alert:email"]
    response = await browser.post(f"{PAGE}/preferences", [("pref", p) for p in wanted])

    assert response.status_code == 200 and response.url.query == b"done=saved"
    after = switches(parse_html(response.text))
    assert {k for k, on in after.items() if on} == set(wanted)
    assert "Saved" in parse_html(response.text).one("p", class_="alert-ok").text


async def test_basic_sees_the_page_locked_with_an_upgrade_link_and_cannot_post(sessions, login):
    user_id = await make_user(sessions, "basic@example.com", "basic")
    browser = await login("basic@example.com")
    doc = await browser.page(PAGE)

    banner = doc.one(class_="locked-banner")
    assert "Notifications are a Pro feature" in banner.text
    assert banner.one("a").get("href") == "/settings/subscription"
    assert "disabled" in doc.one("form", action=f"{PAGE}/preferences").one("fieldset").attrs
    assert "disabled" in doc.one("button", data_create_link="").attrs
    assert "disabled" in doc.one("form", action=f"{PAGE}/budget").one("fieldset").attrs
    assert "disabled" not in doc.one("button", data_add_alert="").attrs  # price alerts: every plan

    for path, data in ((f"{PAGE}/preferences", [("pref", "failure:email")]), (f"{PAGE}/budget", {"monthly_budget": "9"}),
                       (f"{PAGE}/telegram/link", {})):
        response = await browser.post(path, data)
        assert response.status_code == 403, path
        assert "needs the Pro plan" in response.text
    async with sessions() as session:
        assert (await session.execute(select(NotificationPreference))).first() is None
        assert await session.get(Budget, await personal_workspace_id(session, user_id)) is None
        assert (await session.execute(select(TelegramLinkToken))).first() is None


async def test_telegram_link_shows_the_deep_link_then_the_linked_chat_then_unlinks(sessions, login):
    user_id = await make_user(sessions, "pro@example.com", "pro")
    browser = await login("pro@example.com")
    doc = await browser.page(PAGE)
    assert doc.one(data_telegram_status="not-linked")

    response = await browser.post(f"{PAGE}/telegram/link")

    assert response.status_code == 200
    doc = parse_html(response.text)
    link = doc.one("a", data_deep_link="").get("href")
    prefix = f"https://t.me/{BOT_USERNAME}?start="
    assert link.startswith(prefix)
    token = link[len(prefix):]
    assert doc.one("code", data_start_command="").text == f"/start {token}"
    async with sessions() as session, session.begin():
        assert (await session.get(TelegramLinkToken, linking.hash_token(token))).user_id == user_id
        assert await linking.redeem_link_token(session, token, 4242, "pro_tg") == user_id

    doc = await browser.page(PAGE)
    assert "Linked to @pro_tg" in doc.one(data_telegram_status="linked").text
    assert doc.find(data_new_link="") is None  # the token is shown once only

    response = await browser.post(f"{PAGE}/telegram/unlink")
    doc = parse_html(response.text)
    assert doc.one(data_telegram_status="not-linked") and "Telegram unlinked" in doc.text


async def test_basic_keeps_one_price_alert_with_the_upgrade_message(sessions, login):
    await make_user(sessions, "basic@example.com", "basic")
    browser = await login("basic@example.com")

    response = await browser.post(f"{PAGE}/alerts", [("gpu", "h100"), ("max_price", "2.00"), ("market", "on-demand"),
                                                     ("provider", "lambdalabs"), ("provider", "runpod")])
    doc = parse_html(response.text)
    [row] = alert_rows(doc)
    assert "H100 at most $2.00/GPU-h · Lambda, RunPod · on-demand" in row.text

    response = await browser.post(f"{PAGE}/alerts", {"gpu": "a100-sxm-80gb", "max_price": "1.10"})
    assert response.status_code == 403
    doc = parse_html(response.text)
    error = doc.one("p", class_="alert-error").text
    assert "allows 1 price alert" in error and "/settings/subscription" in error
    assert doc.one("input", name="max_price").get("value") == "1.10"  # nothing typed is lost
    assert doc.one("option", value="a100-sxm-80gb").attrs.get("selected") is not None

    # Deleting frees the slot.
    async with sessions() as session:
        alert_id = (await session.execute(select(PriceAlert.id))).scalar_one()
    response = await browser.post(f"{PAGE}/alerts/{alert_id}/delete")
    assert "Price alert removed" in response.text
    response = await browser.post(f"{PAGE}/alerts", {"gpu": "a100-sxm-80gb", "max_price": "1.10"})
    assert response.status_code == 200 and "A100 SXM 80GB at most $1.10/GPU-h" in response.text


async def test_pro_has_no_alert_limit_and_bad_input_is_explained(sessions, login):
    await make_user(sessions, "pro@example.com", "pro")
    browser = await login("pro@example.com")
    for price in ("2.00", "1.80", "1.50"):
        assert (await browser.post(f"{PAGE}/alerts", {"gpu": "h100", "max_price": price})).status_code == 200

    for data, message in (({"gpu": "h999", "max_price": "2"}, "no GPU called 'h999'"),
                          ({"gpu": "h100", "max_price": "cheap"}, "highest price in dollars"),
                          ({"gpu": "h100", "max_price": "2", "provider": "nosuchcloud"}, "unknown provider"),
                          ({"gpu": "h100", "max_price": "2", "market": "maybe"}, "market must be")):
        response = await browser.post(f"{PAGE}/alerts", data)
        assert response.status_code == 400 and message in parse_html(response.text).one(class_="alert-error").text
    async with sessions() as session:
        assert len((await session.execute(select(PriceAlert))).all()) == 3


async def test_another_users_alert_cannot_be_deleted(sessions, login):
    await make_user(sessions, "pro@example.com", "pro")
    other = await make_user(sessions, "other@example.com", "pro")
    async with sessions() as session, session.begin():
        row = PriceAlert(user_id=other, gpu="h100", max_price=Decimal(2), providers="", active=True, below=False,
                         created_at=utcnow())
        session.add(row)
    browser = await login("pro@example.com")
    response = await browser.post(f"{PAGE}/alerts/{row.id}/delete")
    assert response.status_code == 404
    async with sessions() as session:
        assert await session.get(PriceAlert, row.id) is not None


async def test_monthly_budget(sessions, login):
    user_id = await make_user(sessions, "pro@example.com", "pro")
    browser = await login("pro@example.com")

    response = await browser.post(f"{PAGE}/budget", {"monthly_budget": "$1,250.50"})
    doc = parse_html(response.text)
    assert doc.one("input", name="monthly_budget").get("value") == "1250.5"
    assert "of $1,250.50 (0%)" in doc.one(data_month_spend="0.000000").text

    response = await browser.post(f"{PAGE}/budget", {"monthly_budget": "a lot"})
    assert response.status_code == 400
    doc = parse_html(response.text)
    assert "Not saved" in doc.one(class_="alert-error").text
    assert doc.one("input", name="monthly_budget").get("value") == "a lot"
    async with sessions() as session:
        assert (await session.get(Budget, await personal_workspace_id(session, user_id))).monthly_amount == Decimal("1250.500000")

    response = await browser.post(f"{PAGE}/budget", {"monthly_budget": ""})
    assert "Monthly budget removed" in response.text
    async with sessions() as session:
        assert await session.get(Budget, await personal_workspace_id(session, user_id)) is None


async def test_an_alert_made_while_the_price_is_already_under_says_so(sessions, login):
    from tests.support.factories import make_offer, seed

    await seed(sessions, [make_offer("runpod", "H100 SXM", "1.50")])
    await make_user(sessions, "pro@example.com", "pro")
    browser = await login("pro@example.com")

    doc = parse_html((await browser.post(f"{PAGE}/alerts", {"gpu": "h100", "max_price": "2.00"})).text)
    assert "already at or under it" in doc.one("p", class_="alert-ok").text
    [row] = alert_rows(doc)
    assert "$1.50" in row.text and "at or under" in row.text and "above" not in row.text

    doc = parse_html((await browser.post(f"{PAGE}/alerts", {"gpu": "h100", "max_price": "1.00"})).text)
    above = alert_rows(doc)[1]
    assert "$1.50" in above.text and "above" in above.text


async def test_the_same_alert_twice_is_refused(sessions, login):
    await make_user(sessions, "pro@example.com", "pro")
    browser = await login("pro@example.com")
    data = {"gpu": "h100", "max_price": "2.00", "market": "spot"}
    assert (await browser.post(f"{PAGE}/alerts", data)).status_code == 200

    again = await browser.post(f"{PAGE}/alerts", {**data, "max_price": "$2"})
    assert again.status_code == 400
    assert "already have this alert" in parse_html(again.text).one(class_="alert-error").text
    # another market or threshold is another alert
    assert (await browser.post(f"{PAGE}/alerts", {**data, "market": "any"})).status_code == 200
    assert (await browser.post(f"{PAGE}/alerts", {**data, "max_price": "2.10"})).status_code == 200
    async with sessions() as session:
        assert len((await session.execute(select(PriceAlert))).all()) == 3
