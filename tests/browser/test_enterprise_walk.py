"""Enterprise, walked end to end in real Chromium (issue 13's walk): the owner creates an
organization, a project and the organization's sandbox key, and invites a colleague by e-mail; the
colleague signs up from the link in the outbox in a second browser (a phone), launches into the
project and sees it run. The owner then finds the launch, made by the colleague and tagged with
the project, in the organization's activity log, the colleague's deployment in the project's costs
(the exact amount the cost records hold), and downloads the month's statement as a PDF, which is
rendered to a PNG to be looked at. Screenshots: tests/artifacts/enterprise-*.png."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import func, select

from app.costs.accrual import accrue_costs
from app.db.models import CostRecord, Instance, InstanceEvent, Project
from app.db.types import utcnow
from app.security.keyring import Keyring, generate_key_spec
from providers.sandbox import SandboxCloud, Timings, generate_api_key
from providers.sandbox import cloud as sandbox_cloud
from tests.auth.support import fast_password_hashing  # noqa: F401 - autouse: cheap argon2 in tests
from tests.billing.support import grant
from tests.browser.test_invitation_walk import invitation_link, new_page
from tests.console.conftest import sandbox_offers
from tests.costs.support import PASSWORD, make_user

pytestmark = pytest.mark.browser

STATE_TIMEOUT_MS = 30_000


@pytest.fixture
def fast_cloud(monkeypatch) -> SandboxCloud:
    """The process-wide sandbox (the live server runs in this process), on the real clock, fast."""
    cloud = SandboxCloud(timings=Timings().scaled(0.1))
    monkeypatch.setattr(sandbox_cloud, "_default_cloud", cloud)
    return cloud


async def log_in(page: Page, base: str, email: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    async with page.expect_navigation():
        await page.click("main button[type=submit]")


async def fits(page: Page, width: int) -> None:
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= width, page.url


async def test_organization_invite_launch_audit_costs_and_statement(browser, live_server, sessions, fast_cloud,
                                                                   artifacts, database_url):
    base = live_server.url
    dialect = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    run = uuid.uuid4().hex[:8]  # the live server and its outbox outlive one test
    owner_email, colleague = f"lead-{run}@example.com", f"colleague-{run}@example.com"
    org_name = f"Lab {run}"
    await sandbox_offers(sessions)
    owner_id = await make_user(sessions, Keyring.from_spec(generate_key_spec("ent")), owner_email, "Lead",
                               with_key=False)
    await grant(sessions, owner_id, "enterprise")
    errors: list[str] = []

    # The owner: organization, project, the organization's key, an invitation.
    owner_context, owner = await new_page(browser, 1280, errors)
    await log_in(owner, base, owner_email)
    await owner.goto(f"{base}/workspaces")
    await owner.fill("form[action='/workspaces'] input[name=name]", org_name)
    await owner.click("form[action='/workspaces'] button[type=submit]")
    await expect(owner.locator("h1")).to_have_text(org_name)
    org_id = int(re.search(r"/workspaces/(\d+)", owner.url).group(1))
    form = owner.locator("form[aria-label='Invite a member']")
    await form.locator("input[name=email]").fill(colleague)
    await form.locator("select[name=role]").select_option("member")
    await form.locator("button[type=submit]").click()
    await expect(owner.locator("p.alert-ok")).to_contain_text("Invitation sent")

    await owner.goto(f"{base}/workspaces/{org_id}/projects")
    await owner.fill("form[aria-label='Create a project'] input[name=name]", "Research")
    await owner.click("form[aria-label='Create a project'] button[type=submit]")
    await expect(owner.locator("p.alert-ok")).to_contain_text("Project created")
    async with sessions() as session:
        research = (await session.execute(select(Project.id).where(Project.workspace_id == org_id,
                                                                   Project.name == "Research"))).scalar_one()

    switcher = owner.locator("select[name=workspace_id]")
    await switcher.select_option(str(org_id))
    async with owner.expect_navigation():
        await owner.click("form.workspace-switcher button[type=submit]")
    await expect(switcher.locator("option:checked")).to_have_text(org_name)
    await owner.goto(f"{base}/settings/providers/new?provider=sandbox")
    await owner.fill("input[name=label]", "lab sandbox")
    await owner.fill("input[name=api_key]", generate_api_key())
    await owner.click("form.binding-form button[type=submit]")
    await expect(owner).to_have_url(re.compile(r"/settings/providers\?done=added"))
    await expect(owner.locator("main")).to_contain_text("verified")

    # The colleague: signs up from the mail on a phone, lands in the organization, launches into Research.
    guest_context, guest = await new_page(browser, 390, errors)
    await guest.goto(invitation_link(colleague, base))
    await expect(guest.locator("h1")).to_have_text(f"Join {org_name}")
    await guest.fill("form[aria-label='Sign up and join'] input[name=name]", "Colleague")
    await guest.fill("form[aria-label='Sign up and join'] input[name=password]", PASSWORD)
    await guest.click("button[data-action=signup]")
    await expect(guest.locator("p.alert-ok")).to_contain_text("you are a member now")
    await expect(guest.locator("select[name=workspace_id] option:checked")).to_have_text(org_name)

    # The price list lists the simulated cloud to her: her workspace (the organization) has a sandbox
    # key. At a laptop's width (phones' offer cards leave out the instance type).
    await guest.set_viewport_size({"width": 1280, "height": 900})
    await guest.goto(f"{base}/?provider=sandbox&market=on-demand&per_page=100")
    row = guest.locator("tr.offer[data-provider=sandbox]").filter(has_text="sbx.h100.1x").first
    await row.locator("a.launch-link").click()
    await expect(guest.locator("h1")).to_contain_text("Launch")
    await guest.set_viewport_size({"width": 390, "height": 900})
    await guest.fill("input[name=name]", "colleague-run")
    await guest.select_option("select[name=project_id]", str(research))
    await fits(guest, 390)
    await guest.screenshot(path=str(artifacts / f"enterprise-launch-390-{dialect}.png"), full_page=True)
    await guest.click("form[action='/console/launch'] button[type=submit]")
    await expect(guest.locator("p.alert-ok")).to_contain_text("Launch requested")
    await expect(guest.locator(".page-head span.status")).to_have_text("running", timeout=STATE_TIMEOUT_MS)
    await fits(guest, 390)
    await guest.screenshot(path=str(artifacts / f"enterprise-member-running-390-{dialect}.png"), full_page=True)

    async with sessions() as session:
        instance = (await session.execute(select(Instance).where(Instance.workspace_id == org_id,
                                                                 Instance.name == "colleague-run"))).scalar_one()
    assert instance.project_id == research and instance.user_id != owner_id

    # The owner's activity log, filtered to the project: the colleague's launch, tagged Research.
    await owner.goto(f"{base}/settings/activity")
    await owner.select_option("select[name=project]", str(research))
    async with owner.expect_navigation():
        await owner.click("form.activity-filters button[type=submit]")
    launch_row = owner.locator("table.activity-log tr[data-action='instance.launch']")
    await expect(launch_row).to_have_count(1)
    await expect(launch_row).to_contain_text(colleague)
    await expect(launch_row).to_contain_text("project: Research")
    await expect(launch_row).to_contain_text("colleague-run")
    await owner.screenshot(path=str(artifacts / f"enterprise-activity-1280-{dialect}.png"), full_page=True)

    # Its history moved back a few hours (as if it had been running all afternoon, never before this
    # month), costs accrued, then the project's costs page: the colleague's deployment, to the micro-dollar.
    now = utcnow()
    earlier = min(timedelta(hours=3), now - now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
                  - timedelta(minutes=1))
    async with sessions() as session, session.begin():
        for event in (await session.execute(select(InstanceEvent).where(
                InstanceEvent.instance_id == instance.id))).scalars():
            event.at -= earlier
        (await session.get(Instance, instance.id)).created_at -= earlier
    await accrue_costs(sessions, now=now)
    async with sessions() as session:
        spent = (await session.execute(select(func.coalesce(func.sum(CostRecord.amount), 0)).where(
            CostRecord.project_id == research))).scalar_one()
    assert Decimal(spent) >= Decimal("2.49") * Decimal(earlier.total_seconds() / 3600 - 0.01).quantize(Decimal("0.01"))
    await owner.goto(f"{base}/costs?project={research}")
    await expect(owner.locator("h1")).to_have_text("Costs")
    total = await owner.locator(".stat-card[data-card=total]").get_attribute("data-amount")
    assert Decimal(total) == Decimal(spent)
    await expect(owner.locator(f"table.cost-history tr[data-instance='{instance.id}']").first).to_be_visible()
    await owner.screenshot(path=str(artifacts / f"enterprise-project-costs-1280-{dialect}.png"), full_page=True)

    # The month's statement: on the page, then as a PDF that renders.
    await owner.goto(f"{base}/costs/statements")
    await owner.locator("tr[data-month] a").first.click()
    await expect(owner.locator("h1")).to_contain_text("Statement")
    shown = await owner.locator("dd.statement-total").get_attribute("data-amount")
    assert Decimal(shown) == Decimal(spent)
    async with owner.expect_download() as download_info:
        await owner.click("a[href$='statement.pdf']")
    pdf = await (await download_info.value).path()
    with open(pdf, "rb") as handle:
        assert handle.read(5) == b"%PDF-"
    if shutil.which("pdftoppm"):  # poppler-utils, installed by .ci/run: the first page as a PNG to look at
        subprocess.run(["pdftoppm", "-png", "-r", "70", "-singlefile", str(pdf),
                        str(artifacts / f"enterprise-statement-{dialect}")], check=True, timeout=60)
    await guest_context.close()
    await owner_context.close()
    assert not errors, errors
