"""Upgrading, walked in real Chromium: a Basic account opens a Pro feature (templates), sees the
locked page naming Pro, follows its upgrade link, upgrades (local billing mode: at once, nothing
charged) and uses the feature. A screenshot per step goes to tests/artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.console.conftest import sandbox_offers

pytestmark = pytest.mark.browser


async def shot(page: Page, artifacts, name: str) -> None:
    await page.screenshot(path=str(artifacts / f"upgrade-{name}.png"), full_page=True)


async def test_upgrade_walk(page: Page, live_server, sessions, artifacts):
    base = live_server.url
    await sandbox_offers(sessions)

    await page.goto(f"{base}/signup")
    await page.fill("input[name=email]", "upgrader@example.com")
    await page.fill("input[name=name]", "Upgrader")
    await page.fill("input[name=password]", "a long enough passphrase 42")
    await page.click("form[action='/signup'] button[type=submit]")
    await expect(page).to_have_url(f"{base}/console")
    # The console shows the Pro feature locked, naming the plan, rather than a link that answers 403.
    await expect(page.locator("nav.console-nav a[data-locked=templates]")).to_contain_text("Pro")
    await expect(page.locator("nav.console-nav a[data-locked=templates]")).to_have_attribute("href", "/settings/subscription")

    # A Basic account opens templates: the locked page says which plan has them.
    response = await page.goto(f"{base}/console/templates")
    assert response.status == 403
    await expect(page.locator("p.eyebrow")).to_have_text("Needs the Pro plan")
    await expect(page.locator("p.error-message")).to_contain_text("Deployment templates needs the Pro plan")
    await shot(page, artifacts, "01-locked")

    # The upgrade link leads to the subscription page.
    await page.click("a[data-upgrade-link]")
    await expect(page).to_have_url(f"{base}/settings/subscription")
    await expect(page.locator("[data-current-plan]")).to_have_text("Basic")
    await shot(page, artifacts, "02-subscription-basic")

    await page.click("button[data-action=subscribe-pro]")
    await expect(page.locator("dd[data-price-difference]")).to_have_text("+$29.00/month")
    await page.click("button[data-action=confirm-subscribe-pro]")
    await expect(page).to_have_url(re.compile(r"/settings/subscription\?done=subscribed"))
    await expect(page.locator("p.alert-ok")).to_contain_text("Subscribed")
    await expect(page.locator("[data-current-plan]")).to_have_text("Pro")
    await expect(page.locator("tr[data-invoice]")).to_contain_text("local demo: nothing charged")
    await shot(page, artifacts, "03-subscribed-pro")

    # Now the feature works: save a template.
    await page.click("nav.console-nav a[href='/console/templates']")
    await expect(page.locator("h1")).to_have_text("Deployment templates")
    await page.fill("form[action='/console/templates'] input[name=name]", "H100 trainer")
    await page.select_option("form[action='/console/templates'] select[name=provider]", "sandbox")
    await page.fill("form[action='/console/templates'] input[name=instance_type]", "sbx.h100.1x")
    await page.fill("form[action='/console/templates'] input[name=region]", "sandbox-eu-1")
    await page.click("form[action='/console/templates'] button[type=submit]")
    await expect(page.locator("p.alert-ok")).to_have_text("Template saved.")
    await expect(page.locator("tr[data-template]")).to_contain_text("H100 trainer")
    await shot(page, artifacts, "04-template-saved")
