"""The "members must use two-factor" policy (pages and the console API, one check in scope.py),
the organization endpoints of the console API, and deleting an account that owns organizations."""

from __future__ import annotations

from sqlalchemy import select

from app.auth import api_tokens
from app.db.models import AuditEvent, User, Workspace, WorkspaceMember
from tests.accounts.support import outbox
from tests.console.conftest import PASSWORD, make_account
from tests.workspaces.support import org_with_every_role, switch_to

API = "/api/v1/console/organization"


async def set_two_factor(sessions, user_id: int, on: bool = True) -> None:
    async with sessions() as session, session.begin():
        (await session.get(User, user_id)).totp_enabled = on


async def token_of(sessions, user_id: int) -> str:
    async with sessions() as session, session.begin():
        _, token = await api_tokens.create_token(session, await session.get(User, user_id), "script", can_write=True,
                                                 expires_in_days=None)
    return token


def bearer(token: str, workspace: int | None = None) -> dict[str, str]:
    headers = {"authorization": f"Bearer {token}"}
    if workspace is not None:
        headers["x-computehub-workspace"] = str(workspace)
    return headers


async def test_the_two_factor_policy_keeps_members_without_it_out_of_the_org_only(sessions, keyring, cloud, login):
    org = await org_with_every_role(sessions, keyring)
    owner = await login(org.people["owner"].email)

    refused = await owner.post(f"/workspaces/{org.id}/two-factor", {"require": "on"})
    assert refused.status_code == 400 and "two-factor authentication for your own account first" in refused.text
    await set_two_factor(sessions, org.people["owner"].user_id)
    await set_two_factor(sessions, org.people["admin"].user_id)
    turned_on = await owner.post(f"/workspaces/{org.id}/two-factor", {"require": "on"})
    assert turned_on.status_code == 200 and "member@example.com" in turned_on.text  # who is kept out now

    member = await login(org.people["member"].email)
    page = await member.get(f"/workspaces/{org.id}")
    assert page.status_code == 403 and 'href="/settings/security"' in page.text and "requires two-factor" in page.text
    switched = await member.post("/workspaces/switch", {"workspace_id": org.id})
    assert switched.status_code == 403 and "Acme ML requires" in switched.text
    assert (await member.get("/console")).status_code == 200  # the personal workspace works as before
    token = await token_of(sessions, org.people["member"].user_id)
    api = await member.client.get("/api/v1/console/deployments", headers=bearer(token, org.id))
    assert api.status_code == 403 and "two-factor" in api.json()["detail"]
    assert (await member.client.get("/api/v1/console/deployments", headers=bearer(token))).status_code == 200

    admin = await login(org.people["admin"].email)  # has two-factor: unaffected
    await switch_to(admin, org.id)
    assert (await admin.get("/console")).status_code == 200

    # A member who was already working in the org when the policy came on is stopped on the next request.
    await owner.post(f"/workspaces/{org.id}/two-factor", {"require": "off"})
    await switch_to(member, org.id)
    await owner.post(f"/workspaces/{org.id}/two-factor", {"require": "on"})
    blocked = await member.get("/console")
    assert blocked.status_code == 403 and "data-two-factor-required" in blocked.text
    assert (await member.get("/settings/security")).status_code == 200  # where two-factor is turned on
    home = await member.post("/workspaces/personal", follow_redirects=False)
    assert home.status_code in (302, 303) and (await member.get("/console")).status_code == 200
    async with sessions() as session:
        events = (await session.execute(select(AuditEvent.action, AuditEvent.after).where(
            AuditEvent.workspace == f"org:{org.id}", AuditEvent.action == "org.two_factor_policy")
            .order_by(AuditEvent.seq))).all()
    assert [e.after for e in events] == [{"require_two_factor": v} for v in (True, False, True)]

    # The way out stays open: a member the policy keeps out may still leave (from the page that stops them).
    stopped = await member.get(f"/workspaces/{org.id}")
    assert stopped.status_code == 403 and f'action="/workspaces/{org.id}/leave"' in stopped.text
    left = await member.post(f"/workspaces/{org.id}/leave", follow_redirects=False)
    assert left.status_code in (302, 303) and left.headers["location"] == "/workspaces"
    async with sessions() as session:
        assert (await session.execute(select(WorkspaceMember.id).where(
            WorkspaceMember.workspace_id == org.id,
            WorkspaceMember.user_id == org.people["member"].user_id))).first() is None
    assert (await member.get("/console")).status_code == 200


async def test_the_console_api_manages_the_organization(sessions, keyring, cloud, login, app, settings):
    org = await org_with_every_role(sessions, keyring)
    owner = await login(org.people["owner"].email)
    client = owner.client
    owner_token = await token_of(sessions, org.people["owner"].user_id)
    viewer_token = await token_of(sessions, org.people["viewer"].user_id)
    h = bearer(owner_token, org.id)

    listed = await client.get(f"{API}/members", headers=h)
    assert listed.status_code == 200 and {m["role"] for m in listed.json()} == set(org.people)
    assert (await client.get(f"{API}/members", headers=bearer(owner_token))).status_code == 404  # personal
    assert (await client.get(f"{API}/members", headers=bearer(owner_token, org.id + 999))).status_code == 404

    made = await client.post(f"{API}/invitations", json={"email": "hank@example.com", "role": "viewer"}, headers=h)
    assert made.status_code == 201 and made.json()["email"] == "hank@example.com"
    assert [m["To"] for m in outbox(settings)] == ["hank@example.com"]
    assert [i["id"] for i in (await client.get(f"{API}/invitations", headers=h)).json()] == [made.json()["id"]]
    for bad in ({"email": "member@example.com"}, {"email": "nope"}, {"email": "x@example.com", "role": "owner"}):
        assert (await client.post(f"{API}/invitations", json=bad, headers=h)).status_code == 400, bad
    viewer = bearer(viewer_token, org.id)
    assert (await client.post(f"{API}/invitations", json={"email": "v@example.com"}, headers=viewer)).status_code == 403
    assert (await client.delete(f"{API}/invitations/{made.json()['id']}", headers=viewer)).status_code == 403
    assert (await client.delete(f"{API}/invitations/{made.json()['id']}", headers=h)).status_code == 204
    assert (await client.delete(f"{API}/invitations/{made.json()['id']}", headers=h)).status_code == 404

    assert (await client.delete(f"{API}/members/{org.people['owner'].user_id}", headers=h)).status_code == 400
    assert (await client.delete(f"{API}/members/{org.people['billing'].user_id}", headers=h)).status_code == 204
    assert (await client.post(f"{API}/leave", headers=viewer)).status_code == 204
    assert (await client.post(f"{API}/leave", headers=h)).status_code == 400  # the owner transfers first
    moved = await client.post(f"{API}/transfer", json={"user_id": org.people["admin"].user_id}, headers=h)
    assert moved.status_code == 200
    assert {m["email"]: m["role"] for m in moved.json()} == {
        "owner@example.com": "admin", "admin@example.com": "owner", "member@example.com": "member"}
    refused = await client.put(f"{API}/two-factor", json={"require_two_factor": True}, headers=h)
    assert refused.status_code == 403  # an admin now
    async with sessions() as session:
        actions = list((await session.execute(select(AuditEvent.action).where(
            AuditEvent.workspace == f"org:{org.id}").order_by(AuditEvent.seq))).scalars())
    assert actions[-5:] == ["org.member_invited", "org.invitation_revoked", "org.member_removed",
                            "org.member_left", "org.ownership_transferred"]


async def test_the_api_two_factor_switch_needs_the_owners_own_two_factor(sessions, keyring, cloud, login):
    org = await org_with_every_role(sessions, keyring)
    owner = await login(org.people["owner"].email)
    h = bearer(await token_of(sessions, org.people["owner"].user_id), org.id)
    refused = await owner.client.put(f"{API}/two-factor", json={"require_two_factor": True}, headers=h)
    assert refused.status_code == 400 and "your own account first" in refused.json()["detail"]
    await set_two_factor(sessions, org.people["owner"].user_id)
    on = await owner.client.put(f"{API}/two-factor", json={"require_two_factor": True}, headers=h)
    assert on.status_code == 200 and on.json() == {"require_two_factor": True}


async def test_deleting_an_account_that_owns_an_organization(sessions, keyring, cloud, login):
    org = await org_with_every_role(sessions, keyring)
    owner = await login(org.people["owner"].email)
    form = {"password": PASSWORD, "confirmation": "DELETE"}
    refused = await owner.post("/settings/account/delete", form)
    assert refused.status_code == 400 and "transfer its ownership" in refused.text and "Acme ML" in refused.text

    solo = await make_account(sessions, keyring, "solo@example.com", plan="enterprise")
    alone = await login(solo.email)
    await alone.post("/workspaces", {"name": "Solo Lab"})
    gone = await alone.post("/settings/account/delete", form, follow_redirects=False)
    assert gone.status_code in (302, 303), gone.text[:300]
    async with sessions() as session:
        names = set((await session.execute(select(Workspace.name).where(Workspace.kind == "organization"))).scalars())
        kept = (await session.execute(select(WorkspaceMember.id).where(
            WorkspaceMember.workspace_id == org.id))).scalars().all()
    assert names == {"Acme ML"} and len(kept) == len(org.people)

    # A member (not owner) who deletes their account leaves the organization.
    viewer = await login(org.people["viewer"].email)
    assert (await viewer.post("/settings/account/delete", form, follow_redirects=False)).status_code in (302, 303)
    async with sessions() as session:
        left = (await session.execute(select(WorkspaceMember.user_id).where(
            WorkspaceMember.workspace_id == org.id))).scalars().all()
        last = (await session.execute(select(AuditEvent.action).where(AuditEvent.workspace == f"org:{org.id}")
                                      .order_by(AuditEvent.seq.desc()))).scalars().first()
    assert org.people["viewer"].user_id not in left and len(left) == len(org.people) - 1
    assert last == "org.member_left"
