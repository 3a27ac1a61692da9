"""Issue 11, item 1 (layout), in real Chromium at 390, 1366 and 1920 px: on the price list, a GPU
variant page, the console and the cost page, with enough providers and offers that the tables
overflow, nothing is cut off. The document is never wider than the viewport; every table sits in
its own ``.table-scroll`` box and every column header can be scrolled into view inside it; every
button and link-button is fully visible once scrolled to (not clipped by an overflow ancestor, not
covered by a sticky cell). On a wide screen the price tables use the width (no scrolling needed at
1920 px); on a phone the offers are cards with Buy and Launch. Screenshots go to tests/artifacts/
as layout-<page>-<width>.png."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Browser, Page

from app.costs.accrual import accrue_costs
from app.db.types import utcnow
from app.security.keyring import Keyring, generate_key_spec
from providers.registry import SOURCES
from tests.auth.support import fast_password_hashing  # noqa: F401 - autouse: cheap argon2 in tests
from tests.billing.support import grant
from tests.browser.conftest import watch_csp
from tests.costs.support import PASSWORD, add_instance, make_user
from tests.support.factories import make_offer, seed

pytestmark = pytest.mark.browser

EMAIL = "wide@example.com"
WIDTHS = (390, 1366, 1920)
PAGES = {"prices": "/", "gpu": "/gpus/h100-sxm", "console": "/console", "costs": "/costs"}
GPUS = {"H100 SXM": 80, "H100 PCIe": 80, "H200": 141, "A100 SXM": 80, "L40S": 48, "RTX 4090": 24, "A10": 24,
        "L4": 24, "RTX A6000": 48}
"""GPU name -> memory per GPU (GB), as the providers list them."""


def wide_market() -> list:
    """Every public source lists most GPUs, on-demand and some spot: a matrix of 13+ provider
    columns and offers with long instance names and regions."""
    offers = []
    for i, source in enumerate(sorted(SOURCES)):
        for j, (gpu, memory) in enumerate(GPUS.items()):
            if (i + j) % 5 == 4:
                continue  # a few holes in the matrix
            price = f"{0.40 + 0.35 * j + 0.07 * i:.2f}"
            offers.append(make_offer(source, gpu, price, region=f"europe-north-{i + 1}", memory=memory,
                                     instance_type=f"{source}.gpu-{gpu.lower().replace(' ', '-')}.large-x1",
                                     buy_url=f"https://{source}.example/pricing"))
            if j % 3 == 0:
                offers.append(make_offer(source, gpu, f"{float(price) * 8 * 0.6:.2f}", region=f"us-central-{i + 1}",
                                         memory=memory, spot=True, available=None if i % 2 else True, count=8,
                                         buy_url=f"https://{source}.example/pricing"))
    return offers


@pytest.fixture
async def wide_account(sessions):
    """The market above, and a Pro user with sandbox deployments (running, stopped, failed and
    one gone) whose costs are accrued, so the console and cost tables have rows."""
    now = utcnow().replace(microsecond=0)
    await seed(sessions, wide_market(), at=now - timedelta(minutes=3))
    user = await make_user(sessions, Keyring.from_spec(generate_key_spec("wide")), EMAIL, "Wide Screen")
    await grant(sessions, user, "pro")
    for k, status in enumerate(("running", "running", "stopped", "failed", "running", "terminated")):
        start = now - timedelta(days=k + 1, hours=3)
        events = [(start, "running", f"{1.25 + k:.2f}")]
        if status != "running":
            events.append((start + timedelta(hours=5), status, f"{1.25 + k:.2f}"))
        await add_instance(sessions, user, f"training-run-with-a-long-name-{k}", events,
                           gpu=("h100-sxm", "a100-sxm-80gb", "l40s")[k % 3])
    await accrue_costs(sessions, now=now)
    return user


async def open_page(browser: Browser, width: int) -> tuple[Page, list[str]]:
    context = await browser.new_context(viewport={"width": width, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    watch_csp(page, errors)
    return page, errors


async def log_in(page: Page, base: str) -> None:
    await page.goto(base + "/login")
    await page.fill("input[name=email]", EMAIL)
    await page.fill("input[name=password]", PASSWORD)
    async with page.expect_navigation():
        await page.click("main button[type=submit]")


async def settle(page: Page) -> None:
    """Charts drawn (they change the layout) and two frames painted."""
    if await page.evaluate("() => !!window.Plotly"):
        await page.wait_for_function("""() => [...document.querySelectorAll('[data-plotly-figure]')].every(
            el => el._fullLayout)""", timeout=15_000)
    await page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


PAGE_WIDTH = "() => ({scroll: document.documentElement.scrollWidth, viewport: window.innerWidth})"

# Every visible column header can be brought fully into view inside its own scroll box,
# uncovered (by the sticky first or last column): tried at scroll positions across the box.
COLUMNS_REACHABLE = """() => {
  const problems = [];
  const shown = el => el.checkVisibility({visibilityProperty: true}) && el.getClientRects().length > 0;
  const inView = (th, box) => {
    const b = box.getBoundingClientRect(), r = th.getBoundingClientRect();
    const left = b.left + box.clientLeft, right = left + box.clientWidth;
    if (r.left < left - 1 || r.right > right + 1 || r.left < -1 || r.right > window.innerWidth + 1) return false;
    const y = Math.min(Math.max((r.top + r.bottom) / 2, 1), window.innerHeight - 1);
    for (const x of [r.left + 2, (r.left + r.right) / 2, r.right - 2]) {
      const hit = document.elementFromPoint(x, y);
      if (!hit || !(hit === th || th.contains(hit))) return false;
    }
    return true;
  };
  for (const table of document.querySelectorAll('main table')) {
    if (!shown(table)) continue;
    const box = table.closest('.table-scroll');
    const name = 'table.' + (table.className || '?');
    if (!box) { problems.push(name + ' is not inside a .table-scroll'); continue; }
    for (const th of table.querySelectorAll('thead th')) {
      if (!shown(th)) continue;
      const label = name + ' column "' + th.textContent.trim() + '"';
      const b = box.getBoundingClientRect(), r = th.getBoundingClientRect();
      if (r.right - b.left - box.clientLeft + box.scrollLeft > box.scrollWidth + 1) {
        problems.push(label + ' ends beyond its scroll area');
        continue;
      }
      th.scrollIntoView({block: 'nearest', inline: 'nearest'});
      let seen = inView(th, box);
      const max = box.scrollWidth - box.clientWidth, step = Math.max(box.clientWidth / 8, 10);
      for (let x = 0; !seen && x <= max + step; x += step) {
        box.scrollLeft = Math.min(x, max);
        seen = inView(th, box);
      }
      if (!seen) problems.push(label + ' cannot be scrolled fully into view');
    }
    box.scrollLeft = 0;
  }
  window.scrollTo(0, 0);
  return problems;
}"""

# Every button and link-button, scrolled to, lies inside the viewport and every overflow
# ancestor, and nothing (a sticky cell, a header) covers its middle.
BUTTONS_VISIBLE = """() => {
  const problems = [];
  const shown = el => el.checkVisibility({visibilityProperty: true}) && el.getClientRects().length > 0;
  const selector = 'button, .btn, .button, a.launch-link, a.move-link, input[type=submit]';
  let count = 0;
  for (const el of document.querySelectorAll(selector)) {
    if (!shown(el)) continue;
    count += 1;
    const label = el.tagName.toLowerCase() + ' "' + el.textContent.trim().replace(/\\s+/g, ' ') + '"';
    el.scrollIntoView({block: 'center', inline: 'nearest'});
    const r = el.getBoundingClientRect();
    if (r.left < -0.5 || r.top < -0.5 || r.right > window.innerWidth + 0.5 || r.bottom > window.innerHeight + 0.5) {
      problems.push(label + ' is outside the viewport');
      continue;
    }
    let clipped = false;
    for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
      const ar = a.getBoundingClientRect();
      const left = ar.left + a.clientLeft, top = ar.top + a.clientTop;
      if (r.left < left - 0.5 || r.right > left + a.clientWidth + 0.5 || r.top < top - 0.5 || r.bottom > top + a.clientHeight + 0.5) {
        problems.push(label + ' is clipped by ' + a.tagName.toLowerCase() + '.' + a.className);
        clipped = true;
        break;
      }
    }
    if (clipped) continue;
    const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
    if (!hit || !(hit === el || el.contains(hit))) {
      problems.push(label + ' is covered by ' + (hit ? hit.tagName.toLowerCase() + '.' + hit.className : 'nothing'));
    }
  }
  window.scrollTo(0, 0);
  return {count, problems};
}"""


async def check_page(page: Page, width: int, name: str) -> None:
    size = await page.evaluate(PAGE_WIDTH)
    assert size["scroll"] <= size["viewport"], f"{name} at {width}: the page is {size['scroll']} px wide"
    problems = await page.evaluate(COLUMNS_REACHABLE)
    assert not problems, f"{name} at {width}: {problems}"
    buttons = await page.evaluate(BUTTONS_VISIBLE)
    assert buttons["count"] > 0, f"{name} at {width}: no buttons found"
    assert not buttons["problems"], f"{name} at {width}: {buttons['problems']}"


async def table_fits(page: Page, selector: str) -> dict:
    """The table's scroll box: whether it needs scrolling to show every column."""
    return await page.eval_on_selector(selector, """table => {
      const box = table.closest('.table-scroll');
      return {scroll: box.scrollWidth, client: box.clientWidth, table: table.getBoundingClientRect().width};
    }""")


async def check_price_tables(page: Page, width: int, artifacts) -> None:
    """What the issue saw cut off: at 1920 px the matrix (every provider, "Spot from") and the
    offers table show every column without scrolling; below that the GPU column and the header
    stay put while the table scrolls, with a cue that there is more to the right."""
    matrix = "table.matrix"
    if width > 640:  # the header stays on top while the offers scroll under it
        moved = await page.eval_on_selector("table.offers", """async table => {
          const box = table.closest('.table-scroll'), th = table.querySelector('thead th');
          box.scrollTop = 400;
          await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
          const gap = th.getBoundingClientRect().top - box.getBoundingClientRect().top - box.clientTop;
          const scrolled = box.scrollTop;
          box.scrollTop = 0;
          return {gap, scrolled};
        }""")
        assert moved["scrolled"] > 0 and abs(moved["gap"]) < 1, f"the offers header scrolled away: {moved}"
    if width >= 1920:
        # The offers table fits a wide screen; the matrix has a column per source (23 and growing),
        # so it scrolls inside its box, with the GPU and "Spot from" columns pinned at its edges.
        fit = await table_fits(page, "table.offers")
        assert fit["scroll"] <= fit["client"], f"table.offers needs scrolling at {width}: {fit}"
        pinned = await page.evaluate("""(sel) => {
          const box = document.querySelector(sel).closest('.table-scroll');
          const edge = (cell) => cell.getBoundingClientRect();
          box.scrollLeft = box.scrollWidth;
          const gpu = edge(box.querySelector('thead th')), spot = edge(box.querySelector('thead th.spot-col'));
          const frame = box.getBoundingClientRect();
          box.scrollLeft = 0;
          const spotAtStart = edge(box.querySelector('thead th.spot-col'));
          return {gpuLeft: gpu.left - frame.left, spotRight: frame.right - spot.right,
                  spotRightAtStart: frame.right - spotAtStart.right};
        }""", matrix)
        assert abs(pinned["gpuLeft"]) < 2 and abs(pinned["spotRight"]) < 20 and abs(pinned["spotRightAtStart"]) < 20, \
            f"the matrix's GPU and Spot-from columns are not pinned at {width}: {pinned}"
        return
    fit = await table_fits(page, matrix)
    assert fit["scroll"] > fit["client"], "the test market should overflow the matrix here"
    frame = page.locator(".table-frame", has=page.locator(matrix))
    assert "more-right" in (await frame.get_attribute("class")).split(), "no cue that the matrix scrolls"
    assert "more-left" not in (await frame.get_attribute("class")).split()
    gpu_cell = page.locator(f"{matrix} tbody tr:first-child th").first
    before = await gpu_cell.bounding_box()
    await page.eval_on_selector(matrix, "t => { const b = t.closest('.table-scroll'); b.scrollLeft = b.scrollWidth; }")
    await page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    after = await gpu_cell.bounding_box()
    assert abs(after["x"] - before["x"]) < 1, "the GPU column scrolled away"
    classes = (await frame.get_attribute("class")).split()
    assert "more-left" in classes and "more-right" not in classes, classes
    await frame.screenshot(path=str(artifacts / f"layout-matrix-scrolled-{width}.png"))
    await page.eval_on_selector(matrix, "t => { t.closest('.table-scroll').scrollLeft = 0; }")


async def check_offer_cards(page: Page, width: int) -> None:
    offers = page.locator("table.offers tbody tr.offer")
    assert await offers.count() >= 10
    if width > 640:
        assert await page.locator("table.offers thead").is_visible()
        return
    # A phone: no table header, each offer a card of the full width with its facts and buttons.
    assert not await page.locator("table.offers thead").is_visible()
    cards = await offers.evaluate_all("""rows => rows.map(r => {
      const box = r.getBoundingClientRect();
      const text = sel => { const el = r.querySelector(sel); return el && el.getClientRects().length ? el.innerText.trim() : ''; };
      return {display: getComputedStyle(r).display, width: box.width, gpu: text('.gpu-cell a'), price: text('.price'),
              provider: text('.provider'), region: text('.region'), market: text('.market'),
              buy: text('.buy-cell a.btn'), launch: text('.buy-cell a.launch-link')};
    })""")
    viewport = await page.evaluate("() => document.documentElement.clientWidth")
    for card in cards:
        assert card["display"] in ("grid", "flex", "block"), card
        assert viewport * 0.8 <= card["width"] <= viewport, card
        assert card["gpu"] and card["price"].startswith("$") and card["provider"] and card["region"], card
        assert ("on-demand" in card["market"] or "spot" in card["market"]), card
        assert ("available" in card["market"] or "not reported" in card["market"] or "sold out" in card["market"]), card
        assert card["buy"].startswith("Buy"), card
    assert any(card["launch"].startswith("Launch") for card in cards)


async def screenshots(page: Page, artifacts, name: str, width: int) -> None:
    """The whole page, and a tall page also in parts (a phone's full page is too tall to read)."""
    await page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    height = await page.evaluate("() => document.documentElement.scrollHeight")
    part = 1800
    for k in range(min(3, -(-height // part)) if height > 2 * part else 0):
        await page.screenshot(path=str(artifacts / f"{name}-part{k + 1}.png"), full_page=True,
                              clip={"x": 0, "y": k * part, "width": width, "height": part})


@pytest.mark.parametrize("width", WIDTHS)
async def test_nothing_is_cut_off(browser, live_server, wide_account, artifacts, width):
    page, errors = await open_page(browser, width)
    try:
        await log_in(page, live_server.url)
        for name, path in PAGES.items():
            response = await page.goto(live_server.url + path)
            assert response.status == 200, path
            await settle(page)
            await screenshots(page, artifacts, f"layout-{name}-{width}", width)
            if name == "prices":
                await check_offer_cards(page, width)
                await check_price_tables(page, width, artifacts)
            await check_page(page, width, name)
        # The rest of the console and the other price pages hold to the same rules (no screenshots:
        # the must-show is the four above).
        await page.goto(live_server.url + "/console")
        href = await page.locator("table.deployments a.deployment-name").first.get_attribute("href")
        await page.goto(live_server.url + "/costs/statements")
        month = await page.locator("table.statement-list tbody a").first.get_attribute("href")
        for path in ("/console/overview", "/console/templates", "/settings/providers", "/settings/activity",
                     "/settings/api-tokens", "/costs/statements", month, href,
                     "/gpus", "/compare"):
            response = await page.goto(live_server.url + path)
            assert response.status == 200, path
            await settle(page)
            if path.startswith(("/settings/a", "/costs/statements")):  # the newest pages: looked at
                await screenshots(page, artifacts, f"layout{path.replace('/', '-')}-{width}", width)
            await check_page(page, width, path)
        assert not errors, errors
    finally:
        await page.context.close()
