"""The console's live parts in real Chromium, under the Content-Security-Policy: "running for"
counts up without a reload, and the ssh command's copy button puts the command on the clipboard
(or, where the clipboard is not available, selects it for Ctrl+C)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.async_api import Browser, expect

from app.db.models import Instance
from app.db.types import utcnow
from app.security.keyring import Keyring, generate_key_spec
from tests.auth.support import fast_password_hashing  # noqa: F401 - autouse: cheap argon2 in tests
from tests.browser.conftest import watch_csp
from tests.costs.support import PASSWORD, add_instance, make_user

pytestmark = pytest.mark.browser

EMAIL = "linus@example.com"
IP = "198.51.100.42"
COMMAND = f"ssh -p 22 root@{IP}"


@pytest.fixture
async def running_deployment(sessions) -> int:
    user = await make_user(sessions, Keyring.from_spec(generate_key_spec("live")), EMAIL, "Linus")
    started = utcnow() - timedelta(seconds=5)
    instance_id = await add_instance(sessions, user, "web-1", [(started, "running", "2.00")])
    await add_instance(sessions, user, "idle-1", [(started - timedelta(hours=1), "running", "1.00"),
                                                  (started, "stopped", "1.00")])
    async with sessions() as session, session.begin():
        (await session.get(Instance, instance_id)).public_ip = IP
    return instance_id


async def open_console(browser: Browser, base: str, *, clipboard: bool):
    context = await browser.new_context(viewport={"width": 1366, "height": 900})
    if clipboard:
        await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    else:  # a browser without the async clipboard (plain http to a remote host, an old browser)
        await context.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined});")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    watch_csp(page, errors)
    await page.goto(base + "/login")
    await page.fill("input[name=email]", EMAIL)
    await page.fill("input[name=password]", PASSWORD)
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    await expect(page).to_have_url(f"{base}/console")
    return page, errors


async def test_durations_count_up_and_the_ssh_command_copies(browser, live_server, running_deployment, artifacts):
    base = live_server.url
    page, errors = await open_console(browser, base, clipboard=True)
    try:
        counts = page.locator("[data-state-count]")
        await expect(counts).to_have_text(["1 running", "1 stopped"])
        duration = page.locator('tr[data-name="web-1"] time[data-started-at]')
        first = await duration.inner_text()
        assert re.fullmatch(r"\d+ s", first), first
        await page.evaluate("() => { window.notReloaded = true; }")
        await page.wait_for_timeout(2200)
        second = await duration.inner_text()
        assert re.fullmatch(r"\d+ s", second) and int(second.split()[0]) >= int(first.split()[0]) + 2, (first, second)
        assert await page.evaluate("() => window.notReloaded === true")  # updated in place, no reload
        await expect(page.locator('tr[data-name="idle-1"] time[data-started-at]')).to_have_text(re.compile(r"^\d+ s$"))

        row = page.locator('tr[data-name="web-1"]')
        await expect(row.locator("code[data-ssh-command]")).to_have_text(COMMAND)
        await expect(page.locator('tr[data-name="idle-1"] [data-ssh]')).to_have_count(0)
        await row.locator("button[data-copy-ssh]").click()
        await expect(row.locator("[data-copy-status]")).to_have_text("Copied.")
        assert await page.evaluate("() => navigator.clipboard.readText()") == COMMAND
        await page.screenshot(path=str(artifacts / "console-live-copied.png"), full_page=True)

        # The instance page: the same command, copyable there too.
        await page.click('tr[data-name="web-1"] a.deployment-name')
        await expect(page.locator(".details code[data-ssh-command]")).to_have_text(COMMAND)
        since = page.locator(".page-head time[data-started-at]")
        before = await since.inner_text()
        await page.wait_for_timeout(1500)
        assert await since.inner_text() != before
        assert not errors, errors
    finally:
        await page.context.close()


async def test_without_a_clipboard_the_command_is_selected(browser, live_server, running_deployment, artifacts):
    page, errors = await open_console(browser, live_server.url, clipboard=False)
    try:
        row = page.locator('tr[data-name="web-1"]')
        await row.locator("button[data-copy-ssh]").click()
        await expect(row.locator("[data-copy-status]")).to_contain_text("Ctrl+C")
        assert await page.evaluate("() => window.getSelection().toString()") == COMMAND
        await page.screenshot(path=str(artifacts / "console-live-selected.png"), full_page=True)
        assert not errors, errors
    finally:
        await page.context.close()


async def test_the_history_filters_in_the_browser(browser, live_server, running_deployment, sessions, artifacts):
    async with sessions() as session, session.begin():
        row = await session.get(Instance, running_deployment)
        row.status, row.terminated_at, row.last_error = "terminated", utcnow(), None
    page, errors = await open_console(browser, live_server.url, clipboard=False)
    try:
        await page.click("text=Deployment history")
        await expect(page.locator("h1")).to_have_text("Deployment history")
        await expect(page.locator("table.deployment-history tbody tr")).to_have_count(1)
        await expect(page.locator('tr[data-name="web-1"] span.status')).to_have_text("deleted")
        await page.select_option("select[name=state]", "failed")
        async with page.expect_navigation():
            await page.click("form.history-filters button[type=submit]")
        await expect(page.locator(".empty-state")).to_contain_text("No deleted or failed deployment matches")
        await expect(page.locator("select[name=state]")).to_have_value("failed")
        await page.goto(live_server.url + "/console/history?state=terminated&from=2026-02-30")
        await expect(page.locator("[data-error-for=from]")).to_contain_text("expected a date")
        await expect(page.locator("input[name=from]")).to_have_value("2026-02-30")  # kept as typed
        await expect(page.locator("select[name=state]")).to_have_value("terminated")
        await page.screenshot(path=str(artifacts / "console-history-bad-date.png"), full_page=True)
        await page.goto(live_server.url + "/console/history")
        await page.screenshot(path=str(artifacts / "console-history.png"), full_page=True)
        assert not errors, errors
    finally:
        await page.context.close()
