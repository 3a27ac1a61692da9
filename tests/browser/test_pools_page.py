"""The node pool pages in real Chromium at 390 px (a phone) and 1280 px: an organization's owner
opens the pool list and a pool the reconciler filled on the sandbox (one region refused for
capacity), and sees its nodes with provider, region and price, and the timeline. Nothing is wider
than the screen. Screenshots go to tests/artifacts/ (pools-*)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.async_api import Page, expect

from app.pools import service
from app.pools.reconcile import PoolContext, reconcile_pool
from app.pools.spec import PoolSpec
from app.security.keyring import Keyring, generate_key_spec
from providers.http import new_client
from tests.console.conftest import PASSWORD, clock, cloud, sandbox_offers  # noqa: F401
from tests.notifications.conftest import fast_password_hashing  # noqa: F401 - autouse: cheap argon2
from tests.workspaces.support import org_with_every_role, scope_of

pytestmark = pytest.mark.browser
PAGE_WIDTH = "() => ({scroll: document.documentElement.scrollWidth, viewport: window.innerWidth})"
EU, US = "sandbox-eu-1", "sandbox-us-1"


async def log_in_to_org(page: Page, base: str, email: str, org_name: str) -> None:
    await page.goto(f"{base}/login?next=/console/pools")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form.auth-form button[type=submit], main form button[type=submit]")
    await page.wait_for_url("**/console/pools")
    await expect(page.locator("[data-pools-locked]")).to_be_visible()  # the personal workspace has none
    await page.select_option("#workspace-switch", label=org_name)
    await page.click("form.workspace-switcher button")
    await page.goto(f"{base}/console/pools")


async def test_the_pool_pages_at_phone_and_desktop_widths(browser, live_server, sessions, artifacts, database_url,
                                                           cloud, clock):
    prefix = f"pp{'pg' if database_url.startswith('postgresql') else 'sq'}-"
    keyring = Keyring.from_spec(generate_key_spec("pp1"))
    org = await org_with_every_role(sessions, keyring, prefix=prefix)
    await sandbox_offers(sessions)
    owner = await scope_of(sessions, org.people["owner"], org.id)
    async with sessions() as session, session.begin():
        pool = await service.create(session, owner, PoolSpec(
            name="trainers", gpu="h100", gpus_per_node=1, target_nodes=3, max_nodes=4,
            max_price_per_gpu_hour=Decimal("2.50"), allowed_regions=(EU, US)))
    cloud.set_faults(org.api_key, no_capacity_regions=[EU])
    async with new_client(timeout=5) as http:
        report = await reconcile_pool(PoolContext(sessions, keyring, http), pool.id, clock())
    assert len(report.launched) == 3 and report.blocked == [("sandbox", EU)]

    for width in (390, 1280):
        context = await browser.new_context(viewport={"width": width, "height": 900})
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            await log_in_to_org(page, live_server.url, org.people["owner"].email, f"{prefix}Acme ML")
            row = page.locator("tr[data-name=trainers]")
            await expect(row.locator("[data-nodes]")).to_have_text("3 of 3")
            await page.screenshot(path=str(artifacts / f"pools-list-{width}.png"), full_page=True)
            widths = await page.evaluate(PAGE_WIDTH)
            assert widths["scroll"] <= widths["viewport"], widths

            await row.locator("a").click()
            await expect(page.locator("h1")).to_have_text("trainers")
            await expect(page.locator("tr[data-node]")).to_have_count(3)
            await expect(page.locator(f"tr[data-region='{US}']")).to_have_count(3)
            await expect(page.locator("tr[data-node]").first).to_contain_text("$2.49")
            await expect(page.locator("li[data-kind=blocked]")).to_contain_text(EU)
            await expect(page.locator("li[data-kind=launched]")).to_have_count(3)
            # Just launched (provisioning; the refused EU launch never ran): nothing measured yet, the rules stated.
            for window in ("24h", "7d", "30d"):
                await expect(page.locator(f"[data-uptime] [data-window='{window}']")).to_contain_text("no measured time")
            await expect(page.locator("[data-uptime-rules]")).to_contain_text("weighted by node-seconds")
            widths = await page.evaluate(PAGE_WIDTH)
            assert widths["scroll"] <= widths["viewport"], widths
            await page.screenshot(path=str(artifacts / f"pools-detail-{width}.png"), full_page=True)
        finally:
            await context.close()
        assert not errors, errors
