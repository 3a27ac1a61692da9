"""Invitations, walked in real Chromium: the owner creates an organization and invites an address
from its members page; a second browser (no account yet) opens the link from the mail in the
outbox, signs up from it, lands in the organization and finds it selected in the workspace
switcher. The members page is checked at 390 px (no sideways scrolling of the page) and 1280 px;
screenshots go to tests/artifacts/invite-*.png."""

from __future__ import annotations

import email
import re
import uuid
from email import policy

import pytest
from playwright.async_api import Browser, expect

from app.db.models import User
from app.security.keyring import Keyring, generate_key_spec
from app.settings import Settings
from tests.auth.support import fast_password_hashing  # noqa: F401 - autouse: cheap argon2 in tests
from tests.billing.support import grant
from tests.browser.conftest import watch_csp
from tests.costs.support import PASSWORD, make_user

pytestmark = pytest.mark.browser


def invitation_link(to: str, base: str) -> str:
    """The link in the newest mail to ``to`` in the live server's outbox folder."""
    folder = Settings().mail.outbox_dir
    for path in sorted(folder.glob("*.eml"), reverse=True):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["To"] == to:
            text = message.get_body(preferencelist=("plain",)).get_content()
            return re.search(re.escape(base) + r"/invitations/[A-Za-z0-9_-]+", text).group(0)
    raise AssertionError(f"no mail to {to} in {folder}")


async def new_page(browser: Browser, width: int, errors: list[str]):
    context = await browser.new_context(viewport={"width": width, "height": 900})
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    watch_csp(page, errors)
    return context, page


async def test_owner_invites_and_a_newcomer_signs_up_from_the_link(browser: Browser, live_server, sessions, artifacts):
    base = live_server.url
    run = uuid.uuid4().hex[:8]  # the outbox folder is shared by every run of the live server
    owner_email, invitee = f"boss-{run}@example.com", f"newcomer-{run}@example.com"
    owner_id = await make_user(sessions, Keyring.from_spec(generate_key_spec("inv")), owner_email, "Boss")
    await grant(sessions, owner_id, "enterprise")
    errors: list[str] = []

    owner_context, owner = await new_page(browser, 1280, errors)
    await owner.goto(f"{base}/login")
    await owner.fill("input[name=email]", owner_email)
    await owner.fill("input[name=password]", PASSWORD)
    async with owner.expect_navigation():
        await owner.click("main button[type=submit]")
    await owner.goto(f"{base}/workspaces")
    await owner.fill("form[action='/workspaces'] input[name=name]", f"Acme {run}")
    await owner.click("form[action='/workspaces'] button[type=submit]")
    await expect(owner.locator("h1")).to_have_text(f"Acme {run}")
    form = owner.locator("form[aria-label='Invite a member']")
    await form.locator("input[name=email]").fill(invitee)
    await form.locator("select[name=role]").select_option("admin")
    await form.locator("button[type=submit]").click()
    await expect(owner.locator("p.alert-ok")).to_contain_text("Invitation sent")
    await expect(owner.locator("ul[data-invitations]")).to_contain_text(invitee)
    await owner.screenshot(path=str(artifacts / "invite-members-1280.png"), full_page=True)
    await owner.set_viewport_size({"width": 390, "height": 900})
    await owner.reload()
    assert await owner.evaluate("() => document.documentElement.scrollWidth") <= 390
    revoke = owner.locator("ul[data-invitations] button", has_text="Revoke")
    await revoke.scroll_into_view_if_needed()
    box = await revoke.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390
    await owner.screenshot(path=str(artifacts / "invite-members-390.png"), full_page=True)

    link = invitation_link(invitee, base)
    guest_context, guest = await new_page(browser, 390, errors)
    await guest.goto(link)
    await expect(guest.locator("h1")).to_have_text(f"Join Acme {run}")
    await guest.screenshot(path=str(artifacts / "invite-accept-390.png"), full_page=True)
    await guest.fill("form[aria-label='Sign up and join'] input[name=name]", "Newcomer")
    await guest.fill("form[aria-label='Sign up and join'] input[name=password]", PASSWORD)
    await guest.click("button[data-action=signup]")
    await expect(guest.locator("p.alert-ok")).to_contain_text("you are a member now")
    switcher = guest.locator("select[name=workspace_id]")
    await expect(switcher.locator("option:checked")).to_have_text(f"Acme {run}")
    await guest.screenshot(path=str(artifacts / "invite-joined-390.png"), full_page=True)

    # The link worked once: opened again it says so.
    await guest.goto(link)
    await expect(guest.locator("[data-invitation-error]")).to_contain_text("already used")
    await owner.reload()
    await expect(owner.locator("tr[data-role=admin]")).to_contain_text(invitee)

    # The owner (with two-factor) requires it of members: the newcomer, who has none, is stopped in
    # the organization with a page that links to the set-up, and can go back to their own workspace.
    async with sessions() as session, session.begin():
        (await session.get(User, owner_id)).totp_enabled = True
    await owner.click("form[aria-label='Two-factor policy'] button[type=submit]")
    await expect(owner.locator("p.alert-ok")).to_contain_text("must now use two-factor")
    await guest.goto(f"{base}/console")
    await expect(guest.locator("[data-two-factor-required] h1")).to_contain_text("requires two-factor")
    await expect(guest.locator("a[data-action=enable-2fa]")).to_have_attribute("href", "/settings/security")
    assert await guest.evaluate("() => document.documentElement.scrollWidth") <= 390
    await guest.screenshot(path=str(artifacts / "invite-two-factor-required-390.png"), full_page=True)
    await guest.click("text=Back to my personal workspace")
    await expect(guest).to_have_url(f"{base}/console")
    await guest_context.close()
    await owner_context.close()
    assert not errors, errors
