"""With the Content-Security-Policy on, the price-history chart and the cost charts still draw in
real Chromium, at phone and desktop widths, with no CSP violation on the console."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page

from tests.browser.conftest import watch_csp
from tests.browser.test_costs_walk import charts_drawn, costed_account, log_in  # noqa: F401  (fixture)
from tests.browser.test_price_journey import priced_market  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

WIDTHS = (390, 1366)


async def open_page(browser: Browser, width: int) -> tuple[Page, list[str]]:
    context = await browser.new_context(viewport={"width": width, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    watch_csp(page, errors)
    return page, errors


async def check_charts(page: Page, errors: list[str], url: str, artifacts, name: str) -> None:
    response = await page.goto(url)
    assert response.status == 200, url
    assert "script-src 'self'" in response.headers["content-security-policy"]
    await charts_drawn(page)
    assert await page.locator("[data-plotly-figure] .main-svg").count() >= 1
    await page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    assert not errors, errors


@pytest.mark.parametrize("width", WIDTHS)
async def test_price_chart_draws_under_the_csp(browser, live_server, priced_market, artifacts, database_url, width):
    page, errors = await open_page(browser, width)
    try:
        await check_charts(page, errors, live_server.url + "/gpus/h100-sxm", artifacts, f"csp-gpu-{width}")
        # The "js" class (set by site.js, no longer inline) is on.
        assert await page.evaluate("() => document.documentElement.classList.contains('js')")
    finally:
        await page.context.close()


@pytest.mark.parametrize("width", WIDTHS)
async def test_cost_charts_draw_under_the_csp(browser, live_server, costed_account, artifacts, database_url, width):
    page, errors = await open_page(browser, width)
    try:
        await log_in(page, live_server.url)
        await check_charts(page, errors, live_server.url + "/costs", artifacts, f"csp-costs-{width}")
    finally:
        await page.context.close()
