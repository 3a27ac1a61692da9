"""An organization's costs per member and project in real Chromium at 390 px (a phone) and 1280 px:
the owner switches to the organization, sees the by-member and by-project charts drawn with the
same amounts as their tables, filters by a member, then opens a project's monthly statement from
the statements list. Nothing is wider than the screen. Screenshots: tests/artifacts/member-costs-*."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.async_api import Page, expect

from app.costs.accrual import accrue_costs
from app.db.models import User
from app.db.types import utcnow
from app.workspaces import organizations, projects
from tests.costs.test_member_costs import Segment, _instance
from tests.notifications.conftest import PASSWORD, fast_password_hashing, make_user  # noqa: F401

pytestmark = pytest.mark.browser
PAGE_WIDTH = "() => ({scroll: document.documentElement.scrollWidth, viewport: window.innerWidth})"


async def an_organization(sessions, prefix: str) -> tuple[str, dict[str, int], dict[str, int]]:
    """Owner Ada: 5 h at $2.00 in Training (10.00); member Bo: 3 h at $1.50 in Research (4.50),
    both ended an hour ago (the same local day in UTC for a run started after 09:00)."""
    ada = await make_user(sessions, f"{prefix}ada@example.com", "enterprise")
    bo = await make_user(sessions, f"{prefix}bo@example.com")
    name = f"{prefix}Acme ML"
    async with sessions() as session, session.begin():
        scope = await organizations.create(session, await session.get(User, ada), name)
        await organizations.add_member(session, scope, f"{prefix}bo@example.com", "member")
        ids = {p: (await projects.create(session, scope, p)).id for p in ("Research", "Training")}
    end = utcnow().replace(microsecond=0, second=0, minute=0) - timedelta(hours=1)
    await _instance(sessions, scope.workspace_id, ada, ids["Training"], f"{prefix}ada-train",
                    [Segment("t", "ada", "Training", end - timedelta(hours=5), end, "2.00")])
    await _instance(sessions, scope.workspace_id, bo, ids["Research"], f"{prefix}bo-research",
                    [Segment("r", "bo", "Research", end - timedelta(hours=3), end, "1.50")])
    await accrue_costs(sessions)
    return name, {"ada": ada, "bo": bo}, ids


async def log_in_to_org(page: Page, base: str, email: str, org_name: str) -> None:
    await page.goto(f"{base}/login?next=/costs")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form.auth-form button[type=submit], main form button[type=submit]")
    await page.wait_for_url("**/costs")
    await page.select_option("#workspace-switch", label=org_name)
    await page.click("form.workspace-switcher button")


async def charts_drawn(page: Page) -> None:
    await page.wait_for_function("""() => [...document.querySelectorAll('[data-plotly-figure]')].every(
        el => el._fullLayout && el.querySelector('.main-svg .trace, .main-svg .slice'))""", timeout=15_000)


async def shares(page: Page, kind: str) -> dict[str, Decimal]:
    rows = page.locator(f"table.shares[data-split={kind}] tbody tr")
    return {await r.get_attribute("data-label"): Decimal(await r.get_attribute("data-amount"))
            for r in await rows.all()}


async def no_sideways_scroll(page: Page) -> None:
    widths = await page.evaluate(PAGE_WIDTH)
    assert widths["scroll"] <= widths["viewport"], widths


@pytest.mark.parametrize("width", [390, 1280])
async def test_costs_per_member_and_a_project_statement(width, browser, live_server, sessions, artifacts, database_url):
    dialect = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    prefix = f"mc{width}{dialect[:2]}-"
    org_name, people, ids = await an_organization(sessions, prefix)
    context = await browser.new_context(viewport={"width": width, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        await log_in_to_org(page, live_server.url, f"{prefix}ada@example.com", org_name)
        await page.goto(f"{live_server.url}/costs")
        await charts_drawn(page)
        for chart in ("cost-member-chart", "cost-project-chart"):
            await expect(page.locator(f"#{chart}.js-plotly-plot .main-svg").first).to_be_visible()
        assert await shares(page, "member") == {f"{prefix}ada": Decimal("10"), f"{prefix}bo": Decimal("4.5")}
        assert await shares(page, "project") == {"Training": Decimal("10"), "Research": Decimal("4.5")}
        await no_sideways_scroll(page)
        await page.screenshot(path=str(artifacts / f"member-costs-{width}-{dialect}.png"), full_page=True)

        # The member select submits itself (data-autosubmit): Bo's costs only.
        async with page.expect_navigation():
            await page.select_option("select[name=member]", value=str(people["bo"]))
        await expect(page.locator(".stat-card[data-card=total] .stat-value")).to_have_text("$4.50")
        await expect(page.locator("[data-member-scope]")).to_contain_text(f"{prefix}bo")

        # Statements list -> the Training project's statements -> this month's statement.
        await page.goto(f"{live_server.url}/costs/statements")
        await page.click(f".project-statements a[data-project='{ids['Training']}']")
        await expect(page.locator("h1")).to_have_text("Monthly statements: Training")
        await page.locator("table.statement-list tbody tr a").first.click()
        await expect(page.locator("h1")).to_contain_text(": Training")
        await expect(page.locator("table.statement-table[data-table=member] tbody tr")).to_have_count(1)
        await no_sideways_scroll(page)
        await page.screenshot(path=str(artifacts / f"member-costs-statement-{width}-{dialect}.png"), full_page=True)
    finally:
        await context.close()
    assert not errors, errors
