"""The cost pages in a real browser: a user with a sandbox key and deployments logs in, reads the
cards, sees the trend drawn, filters by provider, downloads the CSV, then opens the overview."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.async_api import Page, expect

from app.costs.accrual import accrue_costs
from app.db.types import utcnow
from app.security.keyring import Keyring, generate_key_spec
from tests.auth.support import fast_password_hashing  # noqa: F401 - autouse: cheap argon2 in tests
from tests.costs.support import PASSWORD, add_instance, make_user

pytestmark = pytest.mark.browser

EMAIL = "grace@example.com"
PHONE_WIDTH = 390


@pytest.fixture
async def costed_account(sessions):
    """Grace (Berlin) with a sandbox key: a trainer running for 26 h at $2.00, an evaluation run of
    5 h at $1.50 three days ago, and 4 h at $1.25 on Lambda this morning. Costs up to ``now``."""
    now = utcnow().replace(microsecond=0)
    user = await make_user(sessions, Keyring.from_spec(generate_key_spec("walk")), EMAIL, "Grace Hopper",
                           "Europe/Berlin")
    await add_instance(sessions, user, "sbx-trainer", [(now - timedelta(hours=26), "running", "2.00")])
    await add_instance(sessions, user, "sbx-eval", [
        (now - timedelta(days=3), "provisioning", "1.50"), (now - timedelta(days=3, hours=-5), "terminated", "1.50")],
        gpu="a100-sxm-80gb")
    await add_instance(sessions, user, "lambda-box", [
        (now - timedelta(hours=10), "running", "1.25"), (now - timedelta(hours=6), "stopped", "1.25")],
        provider="lambdalabs", gpu="h100-pcie")
    await accrue_costs(sessions, now=now)
    return user


async def log_in(page: Page, base: str) -> None:
    await page.goto(base + "/login")
    await page.fill("input[name=email]", EMAIL)
    await page.fill("input[name=password]", PASSWORD)
    async with page.expect_navigation():
        await page.click("button[type=submit]")


async def card_text(page: Page, key: str) -> str:
    return (await page.locator(f".stat-card[data-card={key}] .stat-value").inner_text()).strip()


async def charts_drawn(page: Page) -> None:
    """Every figure on the page is drawn: its traces are in the SVG and plotly has settled."""
    await page.wait_for_function("""() => [...document.querySelectorAll('[data-plotly-figure]')].every(
        el => el._fullLayout && el.querySelector('.main-svg .trace, .main-svg .slice'))""", timeout=15_000)
    await page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


async def shot(page: Page, artifacts, name: str, database_url: str) -> None:
    if await page.evaluate("() => !!window.Plotly"):
        await charts_drawn(page)
    dialect = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    await page.screenshot(path=str(artifacts / f"{name}-{dialect}.png"), full_page=True)


async def test_costs_and_overview_walk(page: Page, live_server, costed_account, artifacts, database_url):
    await log_in(page, live_server.url)
    await page.click("nav.console-nav >> text=Costs")
    await expect(page.locator("h1")).to_have_text("Costs")

    assert await card_text(page, "total") == "$64.50"  # 52.00 + 7.50 + 5.00
    assert await card_text(page, "burn") == "$2.00/h"
    await expect(page.locator(".stat-card[data-card=total] .stat-note")).to_have_text("last 30 days")
    for chart in ("cost-trend-chart", "cost-gpu-chart", "cost-provider-chart"):
        await expect(page.locator(f"#{chart}.js-plotly-plot .main-svg").first).to_be_visible(timeout=15_000)
    assert await page.locator("#cost-trend-chart .bars .point").count() == 30  # a bar per day
    assert await page.locator("#cost-gpu-chart .slice").count() == 3
    await shot(page, artifacts, "costs", database_url)

    # Filter by provider: the select submits the form by itself.
    async with page.expect_navigation():
        await page.select_option("select[name=provider]", "lambdalabs")
    assert "provider=lambdalabs" in page.url
    assert await card_text(page, "total") == "$5.00"
    assert await card_text(page, "burn") == "$0.00/h"
    providers = await page.locator("table.cost-history tbody tr").evaluate_all("rows => rows.map(r => r.dataset.provider)")
    assert providers and set(providers) == {"lambdalabs"}
    await expect(page.locator("#cost-trend-chart.js-plotly-plot .main-svg").first).to_be_visible(timeout=15_000)
    await shot(page, artifacts, "costs-lambda", database_url)

    async with page.expect_download() as download_info:
        await page.click("a[data-export]")
    download = await download_info.value
    assert download.suggested_filename.startswith("computehub-costs-")
    rows = list(csv.DictReader(io.StringIO(open(await download.path(), encoding="utf-8").read())))
    assert {r["provider"] for r in rows} == {"Lambda"}
    assert sum(Decimal(r["amount"]) for r in rows) == Decimal("5.00")

    await page.click("nav.console-nav >> text=Overview")
    await expect(page.locator("h1")).to_have_text("Welcome, Grace Hopper")
    assert await card_text(page, "running") == "1"  # the trainer runs
    assert await card_text(page, "stopped") == "1"  # lambda-box is stopped
    assert await card_text(page, "deployments") == "3"
    names = await page.locator("table.recent-deployments tbody tr").evaluate_all("rows => rows.map(r => r.dataset.name)")
    assert names == ["lambda-box", "sbx-trainer", "sbx-eval"]
    await expect(page.locator("#overview-trend-chart.js-plotly-plot .main-svg").first).to_be_visible(timeout=15_000)
    await expect(page.locator(".getting-started")).to_have_count(0)
    await shot(page, artifacts, "overview", database_url)


async def test_costs_on_a_phone_and_without_javascript(browser, live_server, costed_account, artifacts, database_url):
    phone = await browser.new_context(viewport={"width": PHONE_WIDTH, "height": 844}, device_scale_factor=2,
                                      is_mobile=True)
    page = await phone.new_page()
    try:
        await log_in(page, live_server.url)
        for path, name in (("/costs", "costs-phone"), ("/console/overview", "overview-phone")):
            await page.goto(live_server.url + path)
            await expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible(timeout=15_000)
            assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
            await shot(page, artifacts, name, database_url)
    finally:
        await phone.close()

    no_js = await browser.new_context(java_script_enabled=False, viewport={"width": 1366, "height": 900})
    page = await no_js.new_page()
    try:
        await log_in(page, live_server.url)
        await page.goto(live_server.url + "/costs")
        await expect(page.get_by_text("The chart needs JavaScript; the daily costs are in the table below.")).to_be_visible()
        await page.click("details.daily-costs summary")
        await expect(page.locator("table.daily tfoot td")).to_have_text("$64.50")
        await shot(page, artifacts, "costs-nojs", database_url)
    finally:
        await no_js.close()
