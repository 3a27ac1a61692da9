"""Notifications in real Chromium: a Pro user opens /settings/notifications, flips switches and
saves (a reload keeps them), creates the Telegram link and sees the deep link, creates a price
alert, and sees it fire once prices are checked. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from app.db.models import OutboxMessage, PriceAlert
from app.db.types import utcnow
from app.notifications.alerts import check_price_alerts
from tests.browser.conftest import LiveServer
from tests.notifications.conftest import PASSWORD, fast_password_hashing, make_user  # noqa: F401
from tests.support.factories import make_offer, seed

pytestmark = pytest.mark.browser

BOT_USERNAME = "ComputeHubWalkBot"
TELEGRAM_ENV = {"COMPUTEHUB_TELEGRAM_BOT_TOKEN": "123456789:walk-token-not-real",
                "COMPUTEHUB_TELEGRAM_BOT_USERNAME": BOT_USERNAME}


@pytest.fixture(scope="module")
def telegram_server(database_url) -> Iterator[LiveServer]:
    """The live app with the Telegram channel configured (its settings are read from the
    environment when it starts; nothing calls Telegram in this walk)."""
    saved = {name: os.environ.get(name) for name in TELEGRAM_ENV}
    os.environ.update(TELEGRAM_ENV)
    try:
        server = LiveServer(database_url)
        server.start()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    yield server
    server.stop()


async def shot(page: Page, artifacts, name: str) -> None:
    await page.screenshot(path=str(artifacts / f"notifications-{name}.png"), full_page=True)


async def test_notifications_walk(page: Page, telegram_server, sessions, artifacts):
    base = telegram_server.url
    await make_user(sessions, "pro@example.com", "pro")
    await seed(sessions, [make_offer("lambdalabs", "H100 SXM", "2.39"), make_offer("runpod", "H100 SXM", "2.19")],
               at=utcnow())

    await page.goto(f"{base}/login?next=/settings/notifications")
    await page.fill("input[name=email]", "pro@example.com")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.goto(f"{base}/settings/notifications")
    await expect(page.locator("h1")).to_have_text("Notifications")
    await expect(page.locator(".locked-banner")).to_have_count(0)
    await shot(page, artifacts, "01-settings")

    # Switches: turn state changes on by e-mail, failures off on Telegram; save; reload.
    state_email = page.locator("input[data-pref='deployment_state:email']")
    failure_telegram = page.locator("input[data-pref='failure:telegram']")
    await expect(state_email).not_to_be_checked()
    await expect(failure_telegram).to_be_checked()
    await page.locator("tr[data-event=deployment_state] td").first.locator(".switch").click()
    await page.locator("tr[data-event=failure] td").nth(1).locator(".switch").click()
    await page.click("form[action$='/preferences'] button[type=submit]")
    await expect(page.locator("p.alert-ok")).to_contain_text("Saved")
    await page.reload()
    await expect(state_email).to_be_checked()
    await expect(failure_telegram).not_to_be_checked()
    await expect(page.locator("input[data-pref='price_alert:email']")).to_be_checked()
    await shot(page, artifacts, "02-switches-saved")

    # Telegram: create the one-time link.
    await page.click("button[data-create-link]")
    deep_link = page.locator("a[data-deep-link]")
    await expect(deep_link).to_have_attribute("href", re.compile(rf"^https://t\.me/{BOT_USERNAME}\?start=[A-Za-z0-9_-]{{43}}$"))
    token = (await deep_link.get_attribute("href")).split("start=")[1]
    await expect(page.locator("code[data-start-command]")).to_have_text(f"/start {token}")
    await page.locator("#telegram").scroll_into_view_if_needed()
    await shot(page, artifacts, "03-telegram-link")

    # A price alert: H100 at most $2.00 per GPU-hour, on-demand.
    await page.goto(f"{base}/settings/notifications#price-alerts")
    await page.select_option("select[name=gpu]", "h100")
    await page.fill("input[name=max_price]", "2.00")
    await page.check("input[name=market][value=on-demand]")
    await page.click("button[data-add-alert]")
    await expect(page.locator("p.alert-ok")).to_contain_text("Price alert added")
    row = page.locator("table.alerts tr[data-alert]")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("H100 at most $2.00/GPU-h · any provider · on-demand")
    await shot(page, artifacts, "04-price-alert")

    # The next poll finds RunPod down to $1.89: the alert fires once, the page shows it.
    await seed(sessions, [make_offer("runpod", "H100 SXM", "1.89")])
    report = await check_price_alerts(sessions, base_url=base, telegram_enabled=True)
    assert report.fired == 1
    await page.reload()
    await expect(row).to_contain_text("$1.89")
    await expect(row.locator(".chip-under")).to_have_text("at or under")
    await page.locator("#price-alerts").scroll_into_view_if_needed()
    await shot(page, artifacts, "05-alert-fired")
    async with sessions() as session:
        messages = list((await session.execute(select(OutboxMessage))).scalars())
        assert (await session.execute(select(PriceAlert.below))).scalar_one() is True
    assert [(m.channel, m.event_type) for m in messages] == [("email", "price_alert")]
    assert messages[0].subject == "H100 SXM 80GB at $1.89/GPU-h (your alert: $2.00)"


async def test_basic_sees_the_settings_locked_with_an_upgrade_link(page: Page, telegram_server, sessions, artifacts):
    base = telegram_server.url
    await make_user(sessions, "basic@example.com", "basic")
    await page.goto(f"{base}/login?next=/settings/notifications")
    await page.fill("input[name=email]", "basic@example.com")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.goto(f"{base}/settings/notifications")

    await expect(page.locator(".locked-banner")).to_contain_text("Notifications are a Pro feature")
    await expect(page.locator(".locked-banner a[data-upgrade]")).to_have_attribute("href", "/settings/subscription")
    await expect(page.locator("input[data-pref='failure:email']")).to_be_disabled()
    await expect(page.locator("button[data-create-link]")).to_be_disabled()
    await expect(page.locator("input[name=monthly_budget]")).to_be_disabled()
    await expect(page.locator("button[data-add-alert]")).to_be_enabled()  # one price alert on Basic
    await shot(page, artifacts, "06-basic-locked")
