"""The migration wizard in real Chromium, on the sandbox, at desktop and phone widths: a Pro user
opens a deployment, presses Migrate, picks a suggested cheaper offer, names a path to keep, reads
the preview and starts; the progress page follows every step live (no reload) until done and the
files are on the new instance. A second walk stops at the cut-over kept for its rollback window and
presses Roll back: the new instance goes, the old one runs again. Basic sees Migrate locked.

The live server serves the pages; a job worker runs the steps in this test's own loop (the embedded
worker's job), against the same database. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, Page, expect

from app.console.sync import sync_binding
from app.db.models import Instance, Migration
from app.jobs.registry import job_app
from app.migration.jobs import queue_due
from app.security.keyring import Keyring
from app.settings import PollingSettings, SandboxSettings, SecuritySettings, Settings
from providers.http import new_client
from providers.sandbox import SandboxCloud, Timings
from providers.sandbox import cloud as sandbox_cloud
from providers.sandbox.clock import ManualClock
from app.db.types import utcnow
from tests.browser.conftest import LiveServer, watch_csp
from tests.console.conftest import MASTER_KEYS, PASSWORD, make_account, sandbox_offers
from tests.migration.conftest import require_tool
from tests.migration.machine.support import disk, reload, running_source
from tests.migration.trees import hashes_of
from tests.support.jobs import drain, queue_for

pytestmark = pytest.mark.browser

DESKTOP, PHONE = {"width": 1366, "height": 900}, {"width": 390, "height": 844}
STATE_TIMEOUT_MS = 60_000
PAGE_WIDTH = "() => ({scroll: document.documentElement.scrollWidth, viewport: window.innerWidth})"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("migration-walk-sandbox")


@pytest.fixture(scope="module")
def migration_server(database_url, data_dir) -> Iterator[LiveServer]:
    """The live app with this walk's master keys and sandbox directory (read from the environment
    when it starts)."""
    env = {"COMPUTEHUB_MASTER_KEYS": MASTER_KEYS, "COMPUTEHUB_SANDBOX_DATA_DIR": str(data_dir)}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        server = LiveServer(database_url)
        server.start()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    yield server
    server.stop()


@pytest.fixture
def walk_settings(data_dir, tmp_path) -> Settings:
    return Settings(polling=PollingSettings(enabled=False, load_snapshot=False),
                    security=SecuritySettings(master_keys=MASTER_KEYS, var_dir=tmp_path / "var"),
                    sandbox=SandboxSettings(enabled=True, demo_account=False, data_dir=data_dir))


@pytest.fixture
def fast_cloud(monkeypatch) -> SandboxCloud:
    require_tool("rclone")
    cloud = SandboxCloud(timings=Timings().scaled(0))  # the live server's thread uses it too
    monkeypatch.setattr(sandbox_cloud, "_default_cloud", cloud)
    return cloud


@contextlib.asynccontextmanager
async def worker(database_url, settings, sessions):
    """What the embedded worker does, in this loop: queue the steps that are due, run them."""
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            await queue_due(sessions)
            await drain(settings, sessions)
            await asyncio.sleep(0.2)

    with queue_for(database_url):
        async with job_app.open_async():
            task = asyncio.create_task(loop())
            try:
                yield
            finally:
                stop.set()
                await task


async def open_page(browser: Browser, base: str, email: str, viewport: dict):
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    watch_csp(page, errors)
    await page.goto(f"{base}/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    return context, page, errors


async def shot(page: Page, artifacts, name: str) -> None:
    await page.screenshot(path=str(artifacts / f"migration-{name}.png"), full_page=True)


async def fits_the_width(page: Page) -> None:
    width = await page.evaluate(PAGE_WIDTH)
    assert width["scroll"] <= width["viewport"], width


async def seeded(sessions, walk_settings, email: str, plan: str | None = "pro"):
    keyring = Keyring.from_spec(MASTER_KEYS)
    account = await make_account(sessions, keyring, email, plan=plan)
    async with new_client(timeout=5) as http:
        source, files = await running_source(sessions, keyring, http, ManualClock(utcnow().replace(microsecond=0)),
                                             walk_settings, account)
    return account, source, files


async def choose_and_start(page: Page, base: str, source: Instance, artifacts, tag: str, window: str) -> int:
    await page.goto(f"{base}/console/instances/{source.id}")
    await shot(page, artifacts, f"{tag}-01-deployment")
    await page.click("a[data-migrate-link]")
    await expect(page.locator("h1")).to_have_text(f"Migrate {source.name}")
    suggestions = page.locator("[data-suggestions] li")
    await expect(suggestions.first).to_contain_text("saves $109.50/month")  # spot at $0.24 vs $0.39 on-demand
    await shot(page, artifacts, f"{tag}-02-wizard")
    await fits_the_width(page)
    await suggestions.first.locator("input[type=radio]").check()
    await page.fill("textarea[name=paths]", "/workspace/checkpoints -> /home/ubuntu/checkpoints")
    await page.fill("input[name=window_hours]", window)
    await page.click("form[data-migrate-form] button[type=submit]")

    await expect(page.locator("h1")).to_contain_text(f"Move {source.name} to ")
    await expect(page.locator("[data-old-price]")).to_contain_text("$0.39/h")
    await expect(page.locator("[data-new-price]")).to_contain_text("$0.24/h")
    await expect(page.locator("[data-monthly]")).to_contain_text("saves $109.50/month")
    await expect(page.locator("[data-copied] tbody tr")).to_have_count(1)
    await expect(page.locator("[data-copied]")).to_contain_text("/home/ubuntu/checkpoints")
    await expect(page.locator("[data-copy-time]")).to_contain_text(re.compile(r"Estimated copy time: about \d+ s"))
    await expect(page.locator("[data-steps] li")).to_have_count(8)
    await expect(page.locator("[data-limits]")).to_contain_text("spot offer")
    await shot(page, artifacts, f"{tag}-03-preview")
    await fits_the_width(page)
    async with page.expect_navigation():
        await page.click("form[data-confirm-form] button[type=submit]")
    await expect(page.locator("p.alert-error")).to_have_text("")
    await expect(page).to_have_url(re.compile(r"/console/migrations/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


async def test_the_wizard_and_the_live_progress_page_reach_done(browser, migration_server, sessions, database_url,
                                                                walk_settings, fast_cloud, artifacts):
    base = migration_server.url
    await sandbox_offers(sessions)
    account, source, files = await seeded(sessions, walk_settings, "mover@example.com")
    context, page, errors = await open_page(browser, base, account.email, DESKTOP)
    try:
        migration_id = await choose_and_start(page, base, source, artifacts, "desktop", window="0")
        await page.evaluate("() => { window.notReloaded = true; }")
        await expect(page.locator("[data-cancel-form]")).to_be_visible()
        await shot(page, artifacts, "desktop-04-progress-started")
        async with worker(database_url, walk_settings, sessions):
            await expect(page.locator("[data-migration-state]")).to_have_text("done", timeout=STATE_TIMEOUT_MS)
        assert await page.evaluate("() => window.notReloaded === true")  # followed by the poll, not reloads
        steps = page.locator("[data-timeline] > li")
        await expect(steps).to_have_count(8)
        for i in range(8):
            await expect(steps.nth(i)).to_have_attribute("data-step-status", "done")
        await expect(page.locator("[data-step=syncing] .step-log")).to_contain_text("copied 6 file(s)")
        await expect(page.locator("[data-cancel-form]")).to_be_hidden()
        await expect(page.locator("[data-rollback-form]")).to_be_hidden()
        await shot(page, artifacts, "desktop-05-progress-done")

        row = await reload(sessions, Migration, migration_id)
        target = await reload(sessions, Instance, row.target_instance_id)
        assert row.state == "done" and target.spot and target.region == "sandbox-eu-1"  # another market, same region
        assert hashes_of(disk(walk_settings, target).host_path("/home/ubuntu/checkpoints")) == files

        await page.goto(f"{base}/console/migrations")
        await expect(page.locator(f"[data-migration-row='{migration_id}']")).to_contain_text("done")
        await shot(page, artifacts, "desktop-06-list")
    finally:
        await context.close()
    assert not errors, errors


async def test_a_rollback_from_the_progress_page_on_a_phone(browser, migration_server, sessions, database_url,
                                                            walk_settings, fast_cloud, artifacts):
    base = migration_server.url
    await sandbox_offers(sessions)
    account, source, _ = await seeded(sessions, walk_settings, "phone@example.com")
    context, page, errors = await open_page(browser, base, account.email, PHONE)
    try:
        migration_id = await choose_and_start(page, base, source, artifacts, "phone", window="1")
        async with worker(database_url, walk_settings, sessions):
            # Cut over, the old instance kept for the hour: Roll back is offered, Cancel no longer.
            await expect(page.locator("[data-rollback-form]")).to_be_visible(timeout=STATE_TIMEOUT_MS)
            await expect(page.locator("[data-migration-state]")).to_have_text("cleaning up")
            await expect(page.locator("[data-cancel-form]")).to_be_hidden()
            await fits_the_width(page)
            await shot(page, artifacts, "phone-04-cut-over")
            async with page.expect_navigation():
                await page.click("[data-rollback-form] button[type=submit]")
            await expect(page.locator("[data-migration-state]")).to_have_text("rolled back", timeout=STATE_TIMEOUT_MS)
        await expect(page.locator("[data-step=rolling_back]")).to_have_attribute("data-step-status", "done")
        await expect(page.locator("[data-step=cleaning_up]")).to_have_attribute("data-step-status", "cancelled")
        await expect(page.locator("[data-step=planned] .step-log")).to_contain_text("#1 ok")
        await fits_the_width(page)
        await shot(page, artifacts, "phone-05-rolled-back")
        row = await reload(sessions, Migration, migration_id)
        assert row.state == "rolled_back" and row.rollback_reason == "rolled back at the user's request"
        async with new_client(timeout=5) as http:  # what the console's sync then sees
            await sync_binding(sessions, Keyring.from_spec(MASTER_KEYS), http, account.binding_id)
        assert (await reload(sessions, Instance, source.id)).status == "running"  # started again
        target = await reload(sessions, Instance, row.target_instance_id)
        assert target.status in ("terminating", "terminated")
    finally:
        await context.close()
    assert not errors, errors


async def test_basic_sees_migrate_locked(browser, migration_server, sessions, walk_settings, fast_cloud, artifacts):
    base = migration_server.url
    await sandbox_offers(sessions)
    account, source, _ = await seeded(sessions, walk_settings, "basic@example.com", plan=None)
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context, page, errors = await open_page(browser, base, account.email, viewport)
        try:
            await page.goto(f"{base}/console/instances/{source.id}")
            locked = page.locator("[data-migrate-section] [data-locked=migration]")
            await expect(locked.locator("button")).to_be_disabled()
            await expect(locked.locator("a")).to_have_text("Needs the Pro plan: upgrade")
            await locked.scroll_into_view_if_needed()
            await fits_the_width(page)
            await shot(page, artifacts, f"{name}-basic-locked")
        finally:
            await context.close()
        assert not errors, errors
