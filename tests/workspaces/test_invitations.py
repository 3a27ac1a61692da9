"""Invitations by e-mail, end to end through the pages: the mail in the outbox, its link, accept
or sign up from it, and every way a link can be refused (unknown, used, revoked, expired, another
account), never a 500. Also who may invite (manage_members) and another organization's ids (404)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.db.models import AuditEvent, WorkspaceInvitation, WorkspaceMember
from app.db.types import utcnow
from app.workspaces import invitations
from tests.accounts.support import body, link_path, outbox
from tests.console.conftest import PASSWORD, make_account
from tests.web.html import parse_html
from tests.workspaces.support import org_with_every_role


async def invite(browser, org_id: int, email: str, role: str = "member"):
    return await browser.post(f"/workspaces/{org_id}/invitations", {"email": email, "role": role},
                              follow_redirects=False)


def mailed_link(settings, to: str) -> str:
    mails = [m for m in outbox(settings) if m["To"] == to]
    assert mails, f"no mail to {to}"
    return link_path(mails[-1], settings, invitations.PATH)


async def role_in(sessions, org_id: int, user_id: int) -> str | None:
    async with sessions() as session:
        return (await session.execute(select(WorkspaceMember.role).where(
            WorkspaceMember.workspace_id == org_id, WorkspaceMember.user_id == user_id))).scalar_one_or_none()


async def org_actions(sessions, org_id: int) -> list[str]:
    async with sessions() as session:
        return list((await session.execute(select(AuditEvent.action).where(
            AuditEvent.workspace == f"org:{org_id}").order_by(AuditEvent.seq))).scalars())


async def test_an_invited_account_accepts_once_from_the_mailed_link(sessions, keyring, cloud, login, settings):
    org = await org_with_every_role(sessions, keyring)
    carol = await make_account(sessions, keyring, "carol@example.com")
    owner = await login(org.people["owner"].email)

    response = await invite(owner, org.id, "Carol@Example.com", "admin")

    assert response.status_code in (302, 303), response.text[:300]
    mail = [m for m in outbox(settings) if m["To"] == "carol@example.com"][-1]
    assert "Acme ML" in mail["Subject"] and "admin" in body(mail)
    path = mailed_link(settings, "carol@example.com")
    token = path.rsplit("/", 1)[1]
    async with sessions() as session:
        row = (await session.execute(select(WorkspaceInvitation))).scalar_one()
    assert row.token_hash == invitations.token_hash(token) and token not in row.token_hash  # only the hash is kept
    assert timedelta(days=6) < row.expires_at - utcnow() <= timedelta(days=7)
    members_page = parse_html((await owner.get(f"/workspaces/{org.id}")).text)
    pending = members_page.one("ul", data_invitations="")
    assert "carol@example.com" in pending.text and pending.find("form").get("action").endswith(f"/{row.id}/revoke")

    browser = await login(carol.email)
    shown = await browser.get(path)
    assert shown.status_code == 200 and "Join Acme ML" in shown.text
    accepted = await browser.post(f"{path}/accept", follow_redirects=False)
    assert accepted.status_code in (302, 303) and accepted.headers["location"] == f"/workspaces/{org.id}?done=joined"
    assert await role_in(sessions, org.id, carol.user_id) == "admin"
    switcher = parse_html((await browser.get("/console")).text).one("select", name="workspace_id")
    assert [o.text.strip() for o in switcher.find_all("option") if o.get("selected") is not None] == ["Acme ML"]

    again = await browser.post(f"{path}/accept")
    assert again.status_code == 400 and "already used" in again.text
    assert (await browser.get(path)).status_code == 400
    actions = await org_actions(sessions, org.id)
    assert actions[-2:] == ["org.member_invited", "org.invitation_accepted"]
    assert "carol@example.com" not in (await owner.get(f"/workspaces/{org.id}")).text.split("Pending invitations")[1] \
        .split("Who may do what")[0]


async def test_someone_without_an_account_signs_up_from_the_link_and_lands_in_the_org(
        sessions, keyring, cloud, login, settings, app):
    from litestar.testing import AsyncTestClient

    from tests.console.conftest import Browser
    org = await org_with_every_role(sessions, keyring)
    await invite(await login(org.people["admin"].email), org.id, "dana@example.com", "viewer")
    path = mailed_link(settings, "dana@example.com")

    async with AsyncTestClient(app=app) as client:
        visitor = Browser(client)
        page = parse_html((await visitor.get(path)).text)
        assert page.one("form", action=f"{path}/signup")
        weak = await visitor.post(f"{path}/signup", {"name": "Dana", "password": "short"})
        assert weak.status_code == 400 and "Join Acme ML" in weak.text  # the form again, with the reason
        joined = await visitor.post(f"{path}/signup", {"name": "Dana", "password": PASSWORD}, follow_redirects=False)
        assert joined.status_code in (302, 303) and joined.headers["location"].startswith(f"/workspaces/{org.id}")
        landed = await visitor.get(joined.headers["location"])
        assert landed.status_code == 200 and "you are a member now" in landed.text

    async with sessions() as session:
        row = (await session.execute(select(WorkspaceInvitation))).scalar_one()
    assert row.accepted_at is not None and await role_in(sessions, org.id, row.accepted_by) == "viewer"
    # The new account logs in with its password like any other.
    assert (await login("dana@example.com")) is not None


async def test_links_that_cannot_be_used_say_why(sessions, keyring, cloud, login, settings):
    org = await org_with_every_role(sessions, keyring)
    erin = await make_account(sessions, keyring, "erin@example.com")
    await make_account(sessions, keyring, "frank@example.com")
    owner = await login(org.people["owner"].email)
    for email in ("erin@example.com", "frank@example.com"):
        await invite(owner, org.id, email)
    erin_link, frank_link = mailed_link(settings, "erin@example.com"), mailed_link(settings, "frank@example.com")

    # Another account: refused with who it is for, and the link stays usable.
    wrong = await (await login(erin.email)).get(frank_link)
    assert wrong.status_code == 403 and "frank@example.com" in wrong.text and "Log out" in wrong.text
    wrong_post = await (await login(erin.email)).post(f"{frank_link}/accept")
    assert wrong_post.status_code == 403 and "frank@example.com" in wrong_post.text

    # Revoked from the members page.
    async with sessions() as session:
        frank_row = (await session.execute(select(WorkspaceInvitation).where(
            WorkspaceInvitation.email == "frank@example.com"))).scalar_one()
    revoked = await owner.post(f"/workspaces/{org.id}/invitations/{frank_row.id}/revoke", follow_redirects=False)
    assert revoked.status_code in (302, 303)
    frank = await login("frank@example.com")
    refused = await frank.post(f"{frank_link}/accept")
    assert refused.status_code == 400 and "withdrawn" in refused.text
    assert (await owner.post(f"/workspaces/{org.id}/invitations/{frank_row.id}/revoke")).status_code == 404

    # Expired.
    async with sessions() as session, session.begin():
        row = (await session.execute(select(WorkspaceInvitation).where(
            WorkspaceInvitation.email == "erin@example.com"))).scalar_one()
        row.expires_at = utcnow() - timedelta(minutes=1)
    expired = await (await login(erin.email)).post(f"{erin_link}/accept")
    assert expired.status_code == 400 and "expired" in expired.text
    assert await role_in(sessions, org.id, erin.user_id) is None

    # Unknown token, logged in or not.
    assert (await frank.get(f"{invitations.PATH}/not-a-real-token")).status_code == 400
    assert await org_actions(sessions, org.id) == [
        "org.created", *["org.member_added"] * 4, "key.added", "org.member_invited", "org.member_invited",
        "org.invitation_revoked"]


async def test_inviting_is_refused_clearly(sessions, keyring, cloud, login, settings):
    org = await org_with_every_role(sessions, keyring)
    other = await org_with_every_role(sessions, keyring, prefix="z")
    owner = await login(org.people["owner"].email)
    for email, role, words in (("member@example.com", "viewer", "already a member"),
                               ("not-an-address", "member", "valid e-mail"),
                               ("gina@example.com", "owner", "choose admin"),
                               ("gina@example.com", "root", "choose admin")):
        response = await invite(owner, org.id, email, role)
        assert response.status_code == 400 and words in response.text, (email, role)
    for role in ("member", "viewer", "billing"):  # no manage_members
        assert (await invite(await login(org.people[role].email), org.id, "gina@example.com")).status_code == 403
    # Another organization's invitation through this one's path, and an organization you are not in: 404.
    await invite(await login(other.people["owner"].email), other.id, "gina@example.com")
    async with sessions() as session:
        theirs = (await session.execute(select(WorkspaceInvitation.id))).scalar_one()
    assert (await owner.post(f"/workspaces/{org.id}/invitations/{theirs}/revoke")).status_code == 404
    assert (await invite(owner, other.id, "gina@example.com")).status_code == 404
    assert len([m for m in outbox(settings) if m["To"] == "gina@example.com"]) == 1


async def test_a_mail_that_cannot_be_sent_is_said_and_the_invitation_can_be_withdrawn(
        sessions, keyring, cloud, engine, settings):
    from dataclasses import replace

    from app.server import create_app
    from app.settings import MailSettings
    from tests.console.conftest import logged_in

    org = await org_with_every_role(sessions, keyring)
    # Nothing listens on port 9 of the loopback: the SMTP send fails at once.
    broken = replace(settings, mail=MailSettings(backend="smtp", smtp_host="127.0.0.1", smtp_port=9,
                                                 smtp_starttls=False, outbox_dir=settings.mail.outbox_dir))
    owner, client = await logged_in(create_app(broken, engine=engine, run_worker=False), org.people["owner"].email)
    try:
        response = await invite(owner, org.id, "ivy@example.com")
        assert response.status_code == 503 and "could not be sent" in response.text
        page = parse_html((await owner.get(f"/workspaces/{org.id}")).text)
        assert "ivy@example.com" in page.one("ul", data_invitations="").text  # saved: it can be revoked
    finally:
        await client.__aexit__(None, None, None)
