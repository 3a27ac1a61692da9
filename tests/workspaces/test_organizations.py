"""Organizations: creation by anyone (on the organization's own Enterprise trial), the members page (its role table is roles.py),
deletion refused while instances live, ownership, keys bound to the organization, the audit chain."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.console import bindings
from app.console.instances import LaunchSpec, launch
from app.db.models import AuditEvent, ProviderBinding, Workspace, WorkspaceMember
from app.security.keyring import DecryptionFailed, binding_aad, workspace_binding_aad
from app.workspaces import roles
from providers.sandbox import generate_api_key
from tests.console.conftest import make_account, sandbox_offers
from tests.web.html import parse_html
from tests.workspaces.support import org_with_every_role, scope_of


async def org_events(sessions, org_id: int) -> list[tuple]:
    async with sessions() as session:
        return [tuple(r) for r in (await session.execute(
            select(AuditEvent.action, AuditEvent.actor, AuditEvent.before, AuditEvent.after)
            .where(AuditEvent.workspace == f"org:{org_id}").order_by(AuditEvent.seq))).all()]


async def test_any_plan_creates_an_organization_on_its_own_trial(sessions, keyring, cloud, login):
    pro = await make_account(sessions, keyring, "pro@example.com", plan="pro")
    response = await (await login(pro.email)).post("/workspaces", {"name": "Pro's own"})
    assert response.status_code == 200 and response.url.path.startswith("/workspaces/")
    boss = await make_account(sessions, keyring, "boss@example.com")  # Basic personally
    browser = await login(boss.email)
    page = await browser.get("/workspaces")
    assert "14-day Enterprise trial" in parse_html(page.text).one("p", data_org_trial="").text

    response = await browser.post("/workspaces", {"name": "Acme ML"})

    assert response.status_code == 200 and response.url.path.startswith("/workspaces/")
    async with sessions() as session:
        org = (await session.execute(select(Workspace).where(Workspace.name == "Acme ML"))).scalar_one()
        owners = (await session.execute(select(WorkspaceMember.user_id, WorkspaceMember.role)
                                        .where(WorkspaceMember.workspace_id == org.id))).all()
    assert org.name == "Acme ML" and [tuple(o) for o in owners] == [(boss.user_id, "owner")]
    assert 'data-org-plan="enterprise"' in response.text  # the members page names the organization's own plan
    assert await org_events(sessions, org.id) == [("org.created", "boss@example.com", None, {"name": "Acme ML"})]
    # The new organization is the one in force now: the header switcher has it selected.
    doc = parse_html((await browser.get("/console")).text)
    selected = [o for o in doc.one("select", name="workspace_id").find_all("option") if o.get("selected") is not None]
    assert [o.text.strip() for o in selected] == ["Acme ML"]


async def test_the_members_page_shows_the_table_of_roles_py(sessions, keyring, cloud, login):
    org = await org_with_every_role(sessions, keyring)
    doc = parse_html((await (await login(org.people["viewer"].email)).get(f"/workspaces/{org.id}")).text)
    table = doc.one("table", data_role_table="")
    header = [th.get("data-role") for th in table.find("thead").find_all("th")][1:]
    assert header == list(roles.ROLES)
    shown = {tr.get("data-permission"): [td.get("data-allowed") == "yes" for td in tr.find_all("td")]
             for tr in table.find("tbody").find_all("tr")}
    assert shown == {p: [r in allowed for r in roles.ROLES] for p, allowed in roles.PERMISSIONS.items()}
    members = {tr.get("data-member"): tr.get("data-role") for tr in doc.one("table", class_="member-list").find_all("tr")
               if tr.get("data-member")}
    assert members == {str(a.user_id): role for role, a in org.people.items()}


async def test_rename_transfer_and_leave_are_recorded(sessions, keyring, cloud, login):
    org = await org_with_every_role(sessions, keyring)
    owner = await login(org.people["owner"].email)
    await owner.post(f"/workspaces/{org.id}/rename", {"name": "Acme Research"})
    await owner.post(f"/workspaces/{org.id}/members/{org.people['viewer'].user_id}/role", {"role": "member"})
    await owner.post(f"/workspaces/{org.id}/transfer", {"user_id": org.people["admin"].user_id})
    refused = await owner.post(f"/workspaces/{org.id}/members/{org.people['admin'].user_id}/remove")
    assert refused.status_code == 400  # the new owner cannot be removed
    leaving = await (await login(org.people["billing"].email)).post(f"/workspaces/{org.id}/leave")
    assert leaving.status_code == 200 and leaving.url.path == "/workspaces"

    async with sessions() as session:
        roles_now = dict((await session.execute(select(WorkspaceMember.user_id, WorkspaceMember.role)
                                                .where(WorkspaceMember.workspace_id == org.id))).all())
    p = org.people
    assert roles_now == {p["owner"].user_id: "admin", p["admin"].user_id: "owner", p["member"].user_id: "member",
                         p["viewer"].user_id: "member"}
    changes = [e for e in await org_events(sessions, org.id) if e[0] not in ("org.created", "org.member_added",
                                                                             "key.added")]
    assert changes == [
        ("org.renamed", "owner@example.com", {"name": "Acme ML"}, {"name": "Acme Research"}),
        ("org.role_changed", "owner@example.com", {"role": "viewer"}, {"role": "member"}),
        ("org.ownership_transferred", "owner@example.com", {"owner": p["owner"].user_id, "role": "admin"},
         {"owner": p["admin"].user_id}),
        ("org.member_left", "billing@example.com", {"role": "billing"}, None),
    ]


async def test_deleting_is_refused_while_an_instance_is_not_deleted(sessions, keyring, http, cloud, login):
    await sandbox_offers(sessions)
    org = await org_with_every_role(sessions, keyring)
    scope = await scope_of(sessions, org.people["owner"], org.id)
    box = await launch(sessions, keyring, http, scope, LaunchSpec(
        binding_id=org.binding_id, name="still-here", instance_type="sbx.h100.1x", region="sandbox-eu-1"))
    owner = await login(org.people["owner"].email)

    refused = await owner.post(f"/workspaces/{org.id}/delete", {"confirm": "yes"})
    assert refused.status_code == 400 and "instance" in refused.text
    async with sessions() as session, session.begin():
        (await session.get(type(box), box.id)).status = "terminated"
    deleted = await owner.post(f"/workspaces/{org.id}/delete", {"confirm": "yes"})

    assert deleted.status_code == 200 and deleted.url.path == "/workspaces"
    async with sessions() as session:
        assert await session.get(Workspace, org.id) is None
        assert await session.get(ProviderBinding, org.binding_id) is None  # its key went with it
    assert [e[0] for e in await org_events(sessions, org.id)][-1] == "org.deleted"  # the chain outlives it


async def test_an_organizations_key_is_bound_to_the_workspace(sessions, keyring, cloud, login):
    org = await org_with_every_role(sessions, keyring)
    async with sessions() as session:
        row = await session.get(ProviderBinding, org.binding_id)
        assert json.loads(keyring.decrypt(row.key_ciphertext, workspace_binding_aad(org.id, "sandbox"))) == {
            "api_key": org.api_key}
        with pytest.raises(DecryptionFailed):  # not the adding user's personal associated data
            keyring.decrypt(row.key_ciphertext, binding_aad(row.user_id, "sandbox"))
    # Never shown: not on the keys page, not to its owner, not to a member.
    for role in ("owner", "member"):
        browser = await login(org.people[role].email)
        await browser.post("/workspaces/switch", {"workspace_id": org.id})
        page = await browser.get("/settings/providers")
        assert page.status_code == 200 and "Org key" in page.text and org.api_key not in page.text


@pytest.mark.parametrize("role", roles.ROLES)
async def test_only_the_roles_in_the_table_add_or_remove_org_keys(role, sessions, keyring, cloud, login):
    org = await org_with_every_role(sessions, keyring)
    browser = await login(org.people[role].email)
    await browser.post("/workspaces/switch", {"workspace_id": org.id})
    response = await browser.post(f"/settings/providers/{org.binding_id}/remove", {"confirm": "yes"},
                                  follow_redirects=False)
    async with sessions() as session:
        still_there = await session.get(ProviderBinding, org.binding_id) is not None
    if roles.allows(role, "manage_keys"):
        assert response.status_code in (302, 303) and not still_there
    else:
        assert response.status_code == 403 and still_there
    with pytest.raises(roles.Forbidden) if not roles.allows(role, "manage_keys") else _nothing():
        async with sessions() as session, session.begin():
            await bindings.add_binding(session, keyring, await scope_of(sessions, org.people[role], org.id),
                                       "sandbox", f"{role}s", {"api_key": generate_api_key()})


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
