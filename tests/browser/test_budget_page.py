"""The workspace Budget page in real Chromium at 390 px (a phone) and 1280 px: an organization's
owner switches to it, sets a hard-limited budget and quotas, and sees them; a viewer sees the same
page read-only. Nothing is wider than the screen. Screenshots go to tests/artifacts/ (budget-*)."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from app.security.keyring import Keyring, generate_key_spec
from tests.console.conftest import PASSWORD
from tests.notifications.conftest import fast_password_hashing  # noqa: F401 - autouse: cheap argon2
from tests.workspaces.support import org_with_every_role

pytestmark = pytest.mark.browser
WIDTHS = (390, 1280)


async def log_in_to_org(page: Page, base: str, email: str, org_name: str) -> None:
    await page.goto(f"{base}/login?next=/console/budget")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form.auth-form button[type=submit], main form button[type=submit]")
    await page.wait_for_url("**/console/budget")
    await page.select_option("#workspace-switch", label=org_name)
    await page.click("form.workspace-switcher button")
    await page.goto(f"{base}/console/budget")
    await expect(page.locator(".page-head .lead")).to_contain_text(org_name)


async def test_the_budget_page_at_phone_and_desktop_widths(browser, live_server, sessions, artifacts, database_url):
    engine_name = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    prefix = f"bp{engine_name[:2]}-"
    org = await org_with_every_role(sessions, Keyring.from_spec(generate_key_spec("bp1")), prefix=prefix)
    org_name = f"{prefix}Acme ML"
    for width in WIDTHS:
        context = await browser.new_context(viewport={"width": width, "height": 900})
        page = await context.new_page()
        try:
            await log_in_to_org(page, live_server.url, org.people["owner"].email, org_name)
            if width == WIDTHS[0]:
                await page.fill("input[name=monthly_budget]", "1250.50")
                await page.check("input[name=hard_limit]")
                await page.select_option("select[name=grace_minutes]", "15")
                await page.click("form.budget-form button[type=submit]")
                await expect(page.locator(".alert-ok")).to_have_text("Monthly budget saved.")
                await page.fill("input[name=max_running_instances]", "4")
                await page.fill("input[name=max_hourly_spend]", "25")
                await page.click("form.quota-form button[type=submit]")
                await expect(page.locator(".alert-ok")).to_contain_text("Quotas saved")
            await expect(page.locator("[data-budget]")).to_have_text("$1,250.50")
            await expect(page.locator("[data-hard-limit-state]")).to_have_text("Armed")
            await expect(page.locator("[data-quota=max_running_instances] td").first).to_have_text("4")
            await expect(page.locator("[data-threshold]")).to_have_count(4)
            assert await page.evaluate("document.documentElement.scrollWidth") <= width
            await page.screenshot(path=str(artifacts / f"budget-owner-{width}-{engine_name}.png"), full_page=True)
        finally:
            await context.close()

    context = await browser.new_context(viewport={"width": WIDTHS[0], "height": 900})
    page = await context.new_page()
    try:
        await log_in_to_org(page, live_server.url, org.people["viewer"].email, org_name)
        await expect(page.locator("[data-read-only=budget]")).to_be_visible()
        await expect(page.locator("[data-read-only=quotas]")).to_be_visible()
        await expect(page.locator("form.budget-form")).to_have_count(0)
        await expect(page.locator("[data-budget]")).to_have_text("$1,250.50")
        assert await page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[0]
        await page.screenshot(path=str(artifacts / f"budget-viewer-{WIDTHS[0]}-{engine_name}.png"), full_page=True)
    finally:
        await context.close()
