"""Changing the address: a single-use, 24-hour link to the new address; a notice to the old one."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app.db.models import EmailChangeToken
from app.db.types import utcnow
from tests.accounts.support import link_path, outbox, stored_user, user_by_email
from tests.auth.support import PASSWORD, make_user

PAGE, ACTION, LINK = "/settings/account", "/settings/account/email", "/account/email"


async def ask(browser, settings, new_email: str, password: str = PASSWORD) -> str:
    """Ask for the change; returns the path of the link mailed to the new address."""
    sent = await browser.submit(PAGE, ACTION, {"new_email": new_email, "current_password": password})
    assert sent.status_code in (302, 303) and sent.headers["location"] == f"{PAGE}?done=email-sent", sent.text[:500]
    message = outbox(settings)[-1]
    assert message["To"] == new_email.strip().lower()
    return link_path(message, settings, LINK)


async def open_link(browser, path: str):
    """Open the mailed link and press its button (a dead link's page has none: post anyway)."""
    await browser.get(path)
    return await browser.post(path)


async def test_the_full_flow_logged_in(browser, sessions, settings):
    user, _ = await make_user(sessions, "ada@example.com", name="Ada")
    await browser.login("ada@example.com")
    path = await ask(browser, settings, "Ada.New@Example.org")
    assert (await stored_user(sessions, user.id)).email == "ada@example.com"  # not before the link is opened

    shown = await browser.get(path)  # opening the link (or a mail scanner prefetching it) changes nothing
    assert shown.status_code == 200 and "ada.new@example.org" in shown.text
    assert (await stored_user(sessions, user.id)).email == "ada@example.com"

    done = await browser.post(path)
    assert done.status_code in (302, 303) and done.headers["location"] == f"{PAGE}?done=email"
    assert (await stored_user(sessions, user.id)).email == "ada.new@example.org"
    notice = outbox(settings)[-1]
    assert notice["To"] == "ada@example.com"
    assert "ada.new@example.org" in notice.get_body(preferencelist=("plain",)).get_content()

    await browser.logout()
    assert (await browser.login("ada@example.com")).status_code == 400
    assert (await browser.login("ada.new@example.org")).headers["location"] == "/console"
    # The link works once.
    again = await open_link(browser, path)
    assert again.status_code == 400 and "invalid or has expired" in again.text


async def test_the_link_works_logged_out_too(new_browser, sessions, settings):
    user, _ = await make_user(sessions, "ada@example.com")
    here, mailbox = new_browser(), new_browser("203.0.113.9")
    await here.login("ada@example.com")
    path = await ask(here, settings, "ada@example.org")

    done = await open_link(mailbox, path)
    assert done.status_code == 200 and "Your e-mail address is now" in done.text
    assert (await stored_user(sessions, user.id)).email == "ada@example.org"
    assert (await here.get("/console")).status_code == 200  # the change ends no session


async def test_a_link_opened_by_another_logged_in_account_is_refused(new_browser, sessions, settings):
    ada, _ = await make_user(sessions, "ada@example.com")
    bob, _ = await make_user(sessions, "bob@example.com", name="Bob")
    as_ada, as_bob = new_browser(), new_browser("203.0.113.9")
    await as_ada.login("ada@example.com")
    await as_bob.login("bob@example.com")
    path = await ask(as_ada, settings, "ada@example.org")

    refused = await open_link(as_bob, path)
    assert refused.status_code == 400 and "another account" in refused.text
    assert (await stored_user(sessions, ada.id)).email == "ada@example.com"
    assert (await stored_user(sessions, bob.id)).email == "bob@example.com"
    # Not used up: the right account can still open it.
    assert (await open_link(as_ada, path)).status_code in (302, 303)
    assert (await stored_user(sessions, ada.id)).email == "ada@example.org"


async def test_an_expired_link_is_refused(browser, sessions, settings):
    user, _ = await make_user(sessions, "ada@example.com")
    await browser.login("ada@example.com")
    path = await ask(browser, settings, "ada@example.org")
    async with sessions() as session, session.begin():
        await session.execute(update(EmailChangeToken).values(expires_at=utcnow() - timedelta(seconds=1)))

    assert (await browser.get(path)).status_code == 400
    refused = await open_link(browser, path)
    assert refused.status_code == 400 and "invalid or has expired" in refused.text
    assert (await stored_user(sessions, user.id)).email == "ada@example.com"


async def test_links_expire_after_24_hours_and_only_the_newest_works(browser, sessions, settings):
    user, _ = await make_user(sessions, "ada@example.com")
    await browser.login("ada@example.com")
    first = await ask(browser, settings, "ada@example.org")
    second = await ask(browser, settings, "ada@example.net")
    async with sessions() as session:
        rows = (await session.execute(select(EmailChangeToken).order_by(EmailChangeToken.id))).scalars().all()
    assert [r.new_email for r in rows] == ["ada@example.org", "ada@example.net"]
    assert rows[1].expires_at - rows[1].created_at == timedelta(hours=24)
    assert all(len(r.token_hash) == 64 and r.token_hash not in second for r in rows)  # stored hashed

    assert (await open_link(browser, first)).status_code == 400
    assert (await open_link(browser, second)).status_code in (302, 303)
    assert (await stored_user(sessions, user.id)).email == "ada@example.net"


async def test_an_address_taken_before_or_after_asking_is_refused(browser, sessions, settings):
    ada, _ = await make_user(sessions, "ada@example.com")
    await make_user(sessions, "bob@example.com", name="Bob")
    await browser.login("ada@example.com")

    taken = await browser.submit(PAGE, ACTION, {"new_email": "BOB@example.com", "current_password": PASSWORD})
    assert taken.status_code == 400 and "already exists" in taken.text
    assert 'value="BOB@example.com"' in taken.text  # what was typed is kept

    path = await ask(browser, settings, "carol@example.com")
    await make_user(sessions, "carol@example.com", name="Carol")  # signs up before the link is opened
    refused = await open_link(browser, path)
    assert refused.status_code == 400 and "used by another account" in refused.text
    assert (await stored_user(sessions, ada.id)).email == "ada@example.com"
    assert (await user_by_email(sessions, "carol@example.com")).name == "Carol"


async def test_the_password_and_a_valid_address_are_required(browser, sessions, settings):
    user, _ = await make_user(sessions, "ada@example.com")
    await browser.login("ada@example.com")
    for form, message in [
        ({"new_email": "ada@example.org", "current_password": "wrong password"}, "current password is not right"),
        ({"new_email": "not an address", "current_password": PASSWORD}, "enter a valid e-mail address"),
        ({"new_email": "x" * 400 + "@example.org", "current_password": PASSWORD}, "enter a valid e-mail address"),
        ({"new_email": "ada@example.com", "current_password": PASSWORD}, "already your address"),
    ]:
        refused = await browser.submit(PAGE, ACTION, form)
        assert refused.status_code == 400 and message in refused.text, form
    assert outbox(settings) == []
    assert (await stored_user(sessions, user.id)).email == "ada@example.com"


async def test_an_unknown_link_is_refused(browser, sessions):
    await make_user(sessions, "ada@example.com")
    assert (await browser.get(f"{LINK}/made-up-token")).status_code == 400
    assert (await open_link(browser, f"{LINK}/made-up-token")).status_code == 400
