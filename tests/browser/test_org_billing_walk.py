"""An organization's own plan, in real Chromium: a Basic user creates an organization (its
Enterprise trial starts), opens its billing page from the members page, subscribes it (local
billing: at once), at phone and desktop widths; then the trial of a second organization lapses and
its locked page names Enterprise and links to that organization's billing page.
Screenshots: tests/artifacts/org-billing-*.png."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from playwright.async_api import expect
from sqlalchemy import update

from app.db.models import Subscription
from app.db.types import utcnow
from app.security.keyring import Keyring, generate_key_spec
from tests.auth.support import fast_password_hashing  # noqa: F401 - autouse: cheap argon2 in tests
from tests.browser.test_enterprise_walk import fits, log_in
from tests.browser.test_invitation_walk import new_page
from tests.costs.support import make_user

pytestmark = pytest.mark.browser


async def create_org(page, base: str, name: str) -> int:
    await page.goto(f"{base}/workspaces")
    await page.fill("form[action='/workspaces'] input[name=name]", name)
    await page.click("form[action='/workspaces'] button[type=submit]")
    await expect(page.locator("h1")).to_have_text(name)
    return int(re.search(r"/workspaces/(\d+)", page.url).group(1))


async def test_a_basic_user_subscribes_their_organization_and_a_lapsed_one_is_locked(
        browser, live_server, sessions, artifacts, database_url):
    base = live_server.url
    dialect = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    run = uuid.uuid4().hex[:8]
    email = f"founder-{run}@example.com"
    await make_user(sessions, Keyring.from_spec(generate_key_spec("orgb")), email, "Founder", with_key=False)
    errors: list[str] = []

    for width in (390, 1280):
        context, page = await new_page(browser, width, errors)
        await log_in(page, base, email)
        org = await create_org(page, base, f"Lab {run} {width}")
        await expect(page.locator("[data-org-plan]")).to_have_text("Enterprise")
        await page.click("a[data-org-billing-link]")
        await expect(page.locator("[data-org-plan]")).to_have_text("Enterprise")
        await expect(page.locator("[data-status]")).to_have_text("free trial")
        await page.screenshot(path=str(artifacts / f"org-billing-trial-{dialect}-{width}.png"), full_page=True)
        await fits(page, width)
        await page.click("button[data-action=org-subscribe]")
        await expect(page.locator("[data-status]")).to_have_text("active")
        await expect(page.locator("[data-billing-contact]")).to_have_text(email)
        await expect(page.locator("tr[data-invoice]")).to_have_count(1)
        await expect(page.locator("button[data-action=org-subscribe]")).to_have_count(0)
        await fits(page, width)
        await page.screenshot(path=str(artifacts / f"org-billing-active-{dialect}-{width}.png"), full_page=True)
        await context.close()

    # A second organization whose trial lapsed: its Pro-or-better pages are locked, naming the plan.
    context, page = await new_page(browser, 390, errors)
    await log_in(page, base, email)
    lapsed = await create_org(page, base, f"Old {run}")
    past = utcnow() - timedelta(days=1)
    async with sessions() as session, session.begin():
        await session.execute(update(Subscription).where(Subscription.workspace_id == lapsed)
                              .values(trial_end=past, current_period_end=past))
    response = await page.goto(f"{base}/console/templates")
    assert response.status == 403
    await expect(page.locator(".error-message")).to_contain_text("needs the Enterprise plan")
    link = page.locator("a[data-upgrade-link]")
    await expect(link).to_have_attribute("href", f"/workspaces/{lapsed}/billing")
    await fits(page, 390)
    await page.screenshot(path=str(artifacts / f"org-billing-locked-{dialect}-390.png"), full_page=True)
    await link.click()
    await expect(page.locator("[data-lapsed]")).to_have_text("trial ended")
    await expect(page.locator("[data-org-locked]")).to_contain_text("Enterprise")
    await page.screenshot(path=str(artifacts / f"org-billing-lapsed-{dialect}-390.png"), full_page=True)
    await context.close()
    assert errors == []
