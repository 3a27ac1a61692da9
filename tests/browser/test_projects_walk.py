"""The organization's projects page in real Chromium, at a phone's width (390 px) and a laptop's
(1280 px): an admin creates a project, limits a member to it and renames it; nothing is wider
than the screen. Screenshots go to tests/artifacts/projects-*.png."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from app.db.models import User
from app.workspaces import organizations, projects
from app.workspaces.scope import membership
from tests.notifications.conftest import PASSWORD, fast_password_hashing, make_user  # noqa: F401

pytestmark = pytest.mark.browser

PAGE_WIDTH = "() => ({scroll: document.documentElement.scrollWidth, viewport: window.innerWidth})"


async def an_organization(sessions, prefix: str) -> int:
    owner = await make_user(sessions, f"{prefix}owner@example.com", "enterprise")
    await make_user(sessions, f"{prefix}member-with-a-rather-long-address@example.com")
    async with sessions() as session, session.begin():
        scope = await organizations.create(session, await session.get(User, owner), "Acme Machine Learning Research")
        await organizations.add_member(session, scope, f"{prefix}member-with-a-rather-long-address@example.com", "member")
        await projects.create(session, scope, "Inference fleet")
    return scope.workspace_id


async def log_in(page: Page, base: str, email: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_url(f"{base}/console**")


@pytest.mark.parametrize("width", [390, 1280])
async def test_projects_page_at_phone_and_laptop_widths(width, browser, live_server, sessions, artifacts):
    base = live_server.url
    prefix = f"w{width}-"
    org = await an_organization(sessions, prefix)
    context = await browser.new_context(viewport={"width": width, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        await log_in(page, base, f"{prefix}owner@example.com")
        await page.goto(f"{base}/workspaces/{org}")
        await page.click(f"a[href='/workspaces/{org}/projects']")
        await expect(page.locator("h1")).to_have_text("Projects")

        await page.fill("form[aria-label='Create a project'] input[name=name]", "Training runs")
        await page.click("form[aria-label='Create a project'] button[type=submit]")
        await expect(page.locator("p.alert-ok")).to_contain_text("Project created")
        training = page.locator("li.project", has_text="Training runs")
        await expect(training).to_have_count(1)

        await training.locator("input[name=user_id]").check()
        await training.locator("form.project-members button[type=submit]").click()
        await expect(page.locator("p.alert-ok")).to_contain_text("limited")
        await expect(page.locator("li.project", has_text="Training runs").locator("input[name=user_id]")).to_be_checked()

        first = page.locator("li.project").first
        await first.locator("input[name=name]").fill("Inference fleet (prod)")
        await first.locator("form[aria-label^='Rename'] button").click()
        await expect(page.locator("li.project h2").first).to_have_text("Inference fleet (prod)")

        widths = await page.evaluate(PAGE_WIDTH)
        assert widths["scroll"] <= widths["viewport"], widths
        await page.screenshot(path=str(artifacts / f"projects-{width}.png"), full_page=True)
        await page.screenshot(path=f"/tmp/proj-projects-{width}.png", full_page=True)
    finally:
        await context.close()
    assert not errors, errors
    async with sessions() as session:
        member = await session.execute(
            User.__table__.select().where(User.email == f"{prefix}member-with-a-rather-long-address@example.com"))
        member_id = member.first().id
        scope = await membership(session, member_id, org)
    assert scope.project_ids is not None and len(scope.project_ids) == 1  # limited to "Training runs" now
