"""A project's budget and quotas on the Budget page in real Chromium at 390 px (a phone) and 1280 px:
an organization's owner picks the project, sets its hard-limited budget and its quotas, and sees
every project's spending this month; nothing is wider than the screen. Screenshots go to
tests/artifacts/ (project-budget-*)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.async_api import expect

from app.costs.accrual import accrue_costs
from app.db.models import Instance, InstanceEvent
from app.db.types import utcnow
from app.security.keyring import Keyring, generate_key_spec
from app.workspaces import projects
from tests.browser.test_budget_page import WIDTHS, log_in_to_org
from tests.notifications.conftest import fast_password_hashing  # noqa: F401 - autouse: cheap argon2
from tests.workspaces.support import org_with_every_role, scope_of

pytestmark = pytest.mark.browser


async def running_since(sessions, org, project_id: int, name: str, price: str, start) -> None:
    async with sessions() as session, session.begin():
        row = Instance(workspace_id=org.id, user_id=org.people["member"].user_id, provider="sandbox",
                       provider_instance_id=f"sbx-{name}", client_token=f"tok-{name}", name=name,
                       instance_type="sbx.h100.1x", region="eu-1", gpu_slug="h100-sxm", gpu_count=Decimal(1),
                       status="running", offer_price_per_hour=Decimal(price), created_at=start, updated_at=start,
                       project_id=project_id)
        session.add(row)
        await session.flush()
        session.add(InstanceEvent(instance_id=row.id, status="running", at=start, price_per_hour=Decimal(price)))


async def test_a_projects_budget_on_the_budget_page_at_phone_and_desktop_widths(browser, live_server, sessions,
                                                                                artifacts, database_url):
    engine_name = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    prefix = f"pb{engine_name[:2]}-"
    org = await org_with_every_role(sessions, Keyring.from_spec(generate_key_spec("pb1")), prefix=prefix)
    owner = await scope_of(sessions, org.people["owner"], org.id)
    async with sessions() as session, session.begin():
        train = (await projects.create(session, owner, "Train")).id
        await projects.create(session, owner, "Serve")
    now = utcnow()
    start = max(now.replace(day=1, hour=0, minute=0, second=0, microsecond=0), now - timedelta(hours=3))
    await running_since(sessions, org, train, "trainer", "4.00", start)
    await accrue_costs(sessions, now=now)
    for width in WIDTHS:
        context = await browser.new_context(viewport={"width": width, "height": 900})
        page = await context.new_page()
        try:
            await log_in_to_org(page, live_server.url, org.people["owner"].email, f"{prefix}Acme ML")
            await expect(page.locator("[data-project-spend] tbody tr")).to_have_count(2)
            await page.select_option("[data-project-picker] select[name=project]", label="project Train")
            await page.click("[data-project-picker] button")
            await expect(page.locator("[data-budget-for]")).to_contain_text("the Train project in the")
            if width == WIDTHS[0]:
                await page.fill("input[name=monthly_budget]", "300")
                await page.check("input[name=hard_limit]")
                await page.click("form.budget-form button[type=submit]")
                await expect(page.locator(".alert-ok")).to_have_text("Monthly budget saved.")
                await page.fill("input[name=max_running_instances]", "2")
                await page.fill("input[name=max_gpus]", "4")
                await page.click("form.quota-form button[type=submit]")
                await expect(page.locator(".alert-ok")).to_contain_text("Quotas saved")
            await expect(page.locator("[data-budget-for]")).to_have_attribute("data-budget-for", str(train))
            await expect(page.locator("[data-budget]")).to_have_text("$300.00")
            await expect(page.locator("[data-quota=max_running_instances] td").first).to_have_text("2")
            await expect(page.locator("[data-quota=max_running_instances] td").nth(1)).to_have_text("1")
            row = page.locator(f"[data-project-spend] tr[data-project='{train}']")
            await expect(row.locator("td").nth(1)).to_have_text("$300.00")
            await expect(row.locator("[data-hard-limit-state]")).to_have_text("Armed")
            assert Decimal(await row.get_attribute("data-spent")) > 0
            await page.screenshot(path=str(artifacts / f"project-budget-owner-{width}-{engine_name}.png"), full_page=True)
            wide = await page.evaluate("[...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right"
                                       " > document.documentElement.clientWidth).map(e => e.tagName + '.' + e.className)")
            assert await page.evaluate("document.documentElement.scrollWidth") <= width, wide
        finally:
            await context.close()
