"""The console, walked in real Chromium: sign up, bind a sandbox key, launch from the price
list, wait for it to run (the page keeps itself current), stop, start, select all, batch
delete through the confirmation, and end with an empty list. A screenshot per step goes to
tests/artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from providers.sandbox import SandboxCloud, Timings, generate_api_key
from providers.sandbox import cloud as sandbox_cloud
from tests.console.conftest import sandbox_offers

pytestmark = pytest.mark.browser

# The sandbox at a tenth of its real pace: boots take 2 s, stops and deletes half a second.
FAST = Timings().scaled(0.1)
# The page polls every 4 s; a boot plus two polls fits well inside this.
STATE_TIMEOUT_MS = 30_000


@pytest.fixture
def fast_cloud(monkeypatch) -> SandboxCloud:
    """The process-wide sandbox (the live server runs in this process), on the real clock, fast."""
    cloud = SandboxCloud(timings=FAST)
    monkeypatch.setattr(sandbox_cloud, "_default_cloud", cloud)
    return cloud


async def shot(page: Page, artifacts, name: str) -> None:
    await page.screenshot(path=str(artifacts / f"console-{name}.png"), full_page=True)


async def status_of(page: Page, name: str):
    return page.locator(f'tr[data-name="{name}"] span.status')


async def launch_from_price_list(page: Page, base: str, instance_type: str, name: str, artifacts=None) -> None:
    await page.goto(f"{base}/?provider=sandbox&market=on-demand&per_page=100")
    row = page.locator("tr.offer[data-provider=sandbox]").filter(has_text=instance_type).first
    await row.locator("a.launch-link").click()
    await expect(page.locator("h1")).to_contain_text("Launch")
    await page.fill("input[name=name]", name)
    if artifacts:
        await shot(page, artifacts, "03b-launch-form")
    await page.click("form[action='/console/launch'] button[type=submit]")
    await expect(page.locator("p.alert-ok")).to_contain_text("Launch requested")


async def test_console_walk(page: Page, live_server, sessions, fast_cloud, artifacts):
    base = live_server.url
    await sandbox_offers(sessions)

    # Sign up: a new account lands on an empty console.
    await page.goto(f"{base}/signup")
    await page.fill("input[name=email]", "walker@example.com")
    await page.fill("input[name=name]", "Walker")
    await page.fill("input[name=password]", "a long enough passphrase 42")
    await page.click("form[action='/signup'] button[type=submit]")
    await expect(page).to_have_url(f"{base}/console")
    await expect(page.locator(".empty-state")).to_contain_text("No deployments")
    await shot(page, artifacts, "01-signed-up")

    # Batch actions and templates are Pro features: start the free trial (local billing, no charge).
    await page.goto(f"{base}/settings/subscription")
    await page.click("form[action='/settings/subscription/trial'] button[type=submit]")
    await expect(page.locator("main")).to_contain_text("trial has started")

    # Bind a sandbox key.
    await page.goto(f"{base}/settings/providers/new?provider=sandbox")
    await page.fill("input[name=label]", "my sandbox")
    api_key = generate_api_key()
    await page.fill("input[name=api_key]", api_key)
    await page.click("form.binding-form button[type=submit]")
    await expect(page).to_have_url(re.compile(r"/settings/providers\?done=added"))
    await expect(page.locator("form.rename-form input[name=label]")).to_have_value("my sandbox")
    await expect(page.locator("main")).to_contain_text("verified")
    await shot(page, artifacts, "02-key-bound")

    # Launch from the price list; the instance page shows it booting, then running.
    await page.goto(f"{base}/?provider=sandbox")
    await expect(page.locator("tr.offer[data-provider=sandbox] a.launch-link").first).to_be_visible()
    await shot(page, artifacts, "03-price-list")
    await launch_from_price_list(page, base, "sbx.h100.1x", "walk-1", artifacts)
    await expect(page.locator(".page-head span.status")).to_have_text(re.compile("provisioning|launching"))
    await shot(page, artifacts, "04-launched")
    await expect(page.locator(".page-head span.status")).to_have_text("running", timeout=STATE_TIMEOUT_MS)
    await expect(page.locator("table[data-history]")).to_contain_text("running")
    await expect(page.locator("p.alert-ok")).to_have_count(0)  # the refresh drops the one-off notice
    await shot(page, artifacts, "05-running")

    # Stop (through its confirmation), then start again.
    await page.click("a[data-op=stop]")
    await expect(page.locator("h1")).to_have_text("Stop walk-1?")
    await shot(page, artifacts, "06-confirm-stop")
    await page.click("text=Yes, stop walk-1")
    await expect(page.locator("p.alert-ok")).to_contain_text("Stop requested")
    await expect(page.locator(".page-head span.status")).to_have_text("stopped", timeout=STATE_TIMEOUT_MS)
    await expect(page.locator("span.op-disabled[title='not possible while the instance is stopped']").first).to_be_visible()
    await shot(page, artifacts, "07-stopped")
    await page.click("button[data-op=start]")
    await expect(page.locator("p.alert-ok")).to_contain_text("Start requested")
    await expect(page.locator(".page-head span.status")).to_have_text("running", timeout=STATE_TIMEOUT_MS)
    await shot(page, artifacts, "08-started-again")

    # Keep this launch as a template.
    await page.fill("form[action^='/console/templates/from-instance'] input[name=name]", "H100 box")
    await page.click("text=Save as template")
    await expect(page.locator("p.alert-ok")).to_have_text("Saved as a template.")
    await page.goto(f"{base}/console/templates")
    await expect(page.locator("table.templates")).to_contain_text("H100 box")
    await shot(page, artifacts, "08b-templates")

    # A second deployment, then select all and delete both through the confirmation.
    await launch_from_price_list(page, base, "sbx.rtx4090.1x", "walk-2")
    await page.goto(f"{base}/console")
    await expect(await status_of(page, "walk-2")).to_have_text("running", timeout=STATE_TIMEOUT_MS)
    await expect(await status_of(page, "walk-1")).to_have_text("running")
    await shot(page, artifacts, "09-console-two-running")
    await page.check("input[data-select-all]")
    await expect(page.locator("input[form=batch][name=id]:checked")).to_have_count(2)
    await page.click("button[data-batch-op=delete]")
    plan = page.locator("ul[data-plan] li")
    await expect(plan).to_have_text(["delete walk-2 (sandbox, running)", "delete walk-1 (sandbox, running)"])
    await shot(page, artifacts, "10-batch-confirm")
    await page.click("text=Yes, delete 2 deployments")
    await expect(page.locator("li[data-outcome=done]")).to_have_count(2)
    await shot(page, artifacts, "11-batch-results")

    # The list empties by itself once the provider has deleted them.
    await page.click("text=Back to deployments")
    await expect(page.locator(".empty-state")).to_contain_text("No deployments", timeout=STATE_TIMEOUT_MS)
    await shot(page, artifacts, "12-empty")
    assert sorted((i["name"], i["status"]) for i in fast_cloud.list_instances(api_key)) == [
        ("walk-1", "terminated"), ("walk-2", "terminated")]
