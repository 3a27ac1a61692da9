"""The issue's must-show, in a real browser: filter to one GPU, sort by price, open the GPU page,
see the history chart drawn and the buy links of each provider."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.async_api import Page, expect

from sqlalchemy import update

from app.db.models import OFFER_ORIGIN_SNAPSHOT, PriceSource as SourceRow
from app.db.types import utcnow
from app.services.history import refresh_daily_stats
from app.web.source_info import source_info
from tests.support.factories import make_offer, seed

pytestmark = pytest.mark.browser

BUY_URLS = {
    "lambdalabs": "https://lambda.example/pricing#h100",
    "runpod": "https://runpod.example/gpu/h100-sxm",
    "hyperstack": "https://hyperstack.example/gpu-pricing",
}
HISTORY_DAYS = 6
PHONE_WIDTH = 390


def market(day: int) -> list:
    """The offers as seen ``day`` days ago: prices drift down towards today."""
    drift = Decimal("0.10") * day
    return [
        make_offer("lambdalabs", "H100 SXM", str(Decimal("2.99") + drift), region="us-east-1", buy_url=BUY_URLS["lambdalabs"]),
        make_offer("lambdalabs", "H100 SXM", "3.29", region="us-west-2", buy_url=BUY_URLS["lambdalabs"]),
        make_offer("lambdalabs", "A100 SXM", "1.29", region="us-east-1"),
        make_offer("runpod", "H100 SXM", str(Decimal("2.69") + drift / 2), region="eu-central-1", buy_url=BUY_URLS["runpod"]),
        make_offer("runpod", "H100 SXM", "1.75", region="eu-central-1", spot=True, buy_url=BUY_URLS["runpod"]),
        make_offer("runpod", "RTX 4090", "0.34", region="eu-west-1", memory=24),
        make_offer("runpod", "A100 SXM", "1.19", region="us-central-1"),
        make_offer("hyperstack", "H100 SXM", str(Decimal("15.20") + 4 * drift), count=8, region="canada-1",
                   buy_url=BUY_URLS["hyperstack"]),
        make_offer("hyperstack", "L40S", "1.00", memory=48, region="norway-1"),
    ]


@pytest.fixture
async def priced_market(sessions):
    """Several days of history (so the chart has lines), the latest poll 5 minutes ago."""
    now = utcnow()
    for day in range(HISTORY_DAYS - 1, -1, -1):
        at = now - timedelta(days=day, minutes=5)
        await seed(sessions, market(day), at=at)
        async with sessions() as session, session.begin():
            await refresh_daily_stats(session, at.date())


async def offer_prices(page: Page) -> list[Decimal]:
    return [Decimal(p) for p in await page.locator("table.offers tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.price)")]


async def shot(page: Page, artifacts, name: str, database_url: str) -> None:
    dialect = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    await page.screenshot(path=str(artifacts / f"{name}-{dialect}.png"), full_page=True)


async def test_filter_sort_and_open_a_gpu_page(page: Page, live_server, priced_market, artifacts, database_url):
    await page.goto(live_server.url + "/")
    await expect(page.locator("h1")).to_have_text("GPU cloud prices")
    await shot(page, artifacts, "dashboard", database_url)

    # Filter through the form (a little JS submits it on change).
    async with page.expect_navigation():
        await page.select_option("select[name=gpu]", "h100-sxm")
    assert page.url == live_server.url + "/?gpu=h100-sxm"  # empty fields are not sent

    async with page.expect_navigation():
        await page.click("a[data-sort-column=provider]")
    assert await page.locator("table.offers tbody tr").evaluate_all("rows => rows.map(r => r.dataset.provider)") == [
        "hyperstack", "lambdalabs", "lambdalabs", "runpod", "runpod"]

    async with page.expect_navigation():
        await page.click("a[data-sort-column=price]")
    rows = page.locator("table.offers tbody tr")
    assert set(await rows.evaluate_all("rows => rows.map(r => r.dataset.gpu)")) == {"h100-sxm"}
    prices = await offer_prices(page)
    assert prices == sorted(prices) and len(prices) == 5
    assert prices[0] == Decimal("1.75")
    await expect(rows.first.locator(".badge-best")).to_have_text("Best value")
    await expect(page.locator("th[aria-sort=ascending] a[data-sort-column=price]")).to_be_visible()
    await shot(page, artifacts, "dashboard-h100-by-price", database_url)

    # Open the GPU page from the cheapest row.
    async with page.expect_navigation():
        await rows.first.locator("a[href='/gpus/h100-sxm']").click()
    assert page.url == live_server.url + "/gpus/h100-sxm"
    await expect(page.locator("h1")).to_have_text("NVIDIA H100 SXM 80GB")
    chart = page.locator("#price-history-chart.js-plotly-plot .main-svg").first
    await expect(chart).to_be_visible(timeout=15_000)
    assert await page.locator("#price-history-chart .scatterlayer .trace").count() >= 3  # band + median lines
    assert await page.locator("#price-history-chart .legendtext").all_text_contents()

    for source, url in BUY_URLS.items():
        links = page.get_by_role("link", name=f"Buy at {source_info(source).display_name}")
        hrefs = {await links.nth(i).get_attribute("href") for i in range(await links.count())}
        assert hrefs == {url}, source
    await shot(page, artifacts, "gpu-h100-sxm", database_url)


async def test_pages_read_well_without_javascript(browser, live_server, priced_market, artifacts, database_url):
    context = await browser.new_context(java_script_enabled=False, viewport={"width": 1366, "height": 900})
    page = await context.new_page()
    try:
        await page.goto(live_server.url + "/")
        await page.select_option("select[name=gpu]", "a100-sxm-80gb")
        async with page.expect_navigation():
            await page.click("button[type=submit]")
        assert "gpu=a100-sxm-80gb" in page.url
        assert await offer_prices(page) == [Decimal("1.19"), Decimal("1.29")]

        await page.goto(live_server.url + "/gpus/h100")
        await expect(page.locator("table.history")).to_be_visible()  # the chart's numbers, as a table
        assert await page.locator("table.history tbody tr").count() == HISTORY_DAYS * 2  # on-demand + spot
        await expect(page.get_by_text("The chart needs JavaScript")).to_be_visible()
        await shot(page, artifacts, "gpu-h100-nojs", database_url)
    finally:
        await context.close()


async def test_other_pages_and_a_phone_screen(browser, live_server, priced_market, artifacts, database_url):
    """Screenshots for review, plus basic checks that each page renders its main content."""
    context = await browser.new_context(viewport={"width": 1366, "height": 900})
    page = await context.new_page()
    try:
        for path, name, selector in [("/gpus", "gpus", "table.gpu-index"), ("/compare", "compare", "table.compare"),
                                     ("/sources", "sources", "table.sources"),
                                     ("/gpus/not-a-gpu", "not-found", ".error-message")]:
            await page.goto(live_server.url + path)
            await expect(page.locator(selector)).to_be_visible()
            await shot(page, artifacts, name, database_url)
    finally:
        await context.close()

    phone = await browser.new_context(viewport={"width": PHONE_WIDTH, "height": 844}, device_scale_factor=2, is_mobile=True)
    page = await phone.new_page()
    try:
        await page.goto(live_server.url + "/")
        # Wide tables scroll inside their box; the page itself never scrolls sideways (a phone
        # browser would widen its layout viewport to fit, so compare with the device width).
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
        await shot(page, artifacts, "dashboard-phone", database_url)
        await page.goto(live_server.url + "/gpus/h100-sxm")
        await expect(page.locator("#price-history-chart .main-svg").first).to_be_visible(timeout=15_000)
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
        await shot(page, artifacts, "gpu-phone", database_url)
    finally:
        await phone.close()


async def test_snapshot_and_stale_prices_are_called_out(page: Page, live_server, sessions, artifacts, database_url):
    now = utcnow()
    await seed(sessions, market(0)[:3], at=now - timedelta(minutes=20))
    async with sessions() as session, session.begin():
        await session.execute(update(SourceRow).where(SourceRow.name == "lambdalabs").values(
            last_error="HTTP 503 Service Unavailable", last_error_at=now - timedelta(minutes=2)))
    await seed(sessions, market(0)[7:], at=now - timedelta(days=3), origin=OFFER_ORIGIN_SNAPSHOT)
    await seed(sessions, [make_offer("runpod", "Mystery Accelerator X", "0.89", memory=None)],
               at=now - timedelta(minutes=4))

    await page.goto(live_server.url + "/")
    await expect(page.locator(".notice-snapshot")).to_contain_text(
        f"Prices from the bundled snapshot of {now - timedelta(days=3):%Y-%m-%d}, not live")
    await expect(page.locator(".notice-stale")).to_contain_text(source_info("lambdalabs").display_name)
    await expect(page.locator("tr[data-provider=hyperstack] .age").first).to_have_text(
        f"snapshot of {now - timedelta(days=3):%Y-%m-%d}")
    await expect(page.locator("tr[data-provider=lambdalabs] .age").first).to_have_text("stale: updated 20 min ago")
    await shot(page, artifacts, "dashboard-snapshot-stale", database_url)

    await page.goto(live_server.url + "/sources")
    await expect(page.locator("tr.error-row[data-source=lambdalabs]")).to_contain_text("HTTP 503 Service Unavailable")
    await expect(page.locator("table.unknown-gpus")).to_contain_text("Mystery Accelerator X")
    await shot(page, artifacts, "sources-with-errors", database_url)
