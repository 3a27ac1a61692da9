"""Roles: every organization route and the console's gated actions, for every role, answer what
``app/workspaces/roles.py`` says (the table is read here, never copied)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.console.instances import LaunchSpec, launch
from app.db.models import AuditEvent, Instance, Offer, WorkspaceMember
from app.workspaces import invitations, projects, roles
from app.workspaces.scope import membership
from tests.console.conftest import make_account, sandbox_offers
from tests.workspaces.support import Org, org_with_every_role, scope_of, switch_to

ORG = "/workspaces/{workspace_id:int}"
# Each organization route and the permission it needs (None: any member; the owner may not leave).
ROUTE_PERMISSION = {
    ("GET", ORG): "view",
    ("POST", f"{ORG}/rename"): "manage_org",
    ("POST", f"{ORG}/delete"): "manage_org",
    ("POST", f"{ORG}/transfer"): "manage_org",
    ("POST", f"{ORG}/members"): "manage_members",
    ("POST", f"{ORG}/members/{{user_id:int}}/role"): "manage_members",
    ("POST", f"{ORG}/members/{{user_id:int}}/remove"): "manage_members",
    ("POST", f"{ORG}/leave"): None,
    ("POST", f"{ORG}/invitations"): "manage_members",
    ("POST", f"{ORG}/invitations/{{invitation_id:int}}/revoke"): "manage_members",
    ("POST", f"{ORG}/two-factor"): "manage_org",
    ("GET", f"{ORG}/projects"): "view",
    ("POST", f"{ORG}/projects"): "manage_projects",
    ("POST", f"{ORG}/projects/{{project_id:int}}/rename"): "manage_projects",
    ("POST", f"{ORG}/projects/{{project_id:int}}/delete"): "manage_projects",
    ("POST", f"{ORG}/projects/{{project_id:int}}/members"): "manage_projects",
}


def org_routes(app) -> set[tuple[str, str]]:
    found = set()
    for route in app.routes:
        if route.path.startswith(ORG):
            for handler in getattr(route, "route_handlers", ()):
                found |= {(m, route.path) for m in handler.http_methods if m not in ("OPTIONS", "HEAD")}
    return found


def test_every_organization_route_is_in_the_matrix(app):
    """The organization's billing pages (``/billing``, manage_billing) are walked role by role in
    tests/workspaces/test_role_matrix.py, with the subscription states they need."""
    assert {r for r in org_routes(app) if not r[1].startswith(f"{ORG}/billing")} == set(ROUTE_PERMISSION)
    assert {r for r in org_routes(app) if r[1].startswith(f"{ORG}/billing")}


def other_than(org: Org, role: str) -> int:
    """A member to act on: neither the actor nor the owner."""
    return next(a.user_id for r, a in org.people.items() if r not in (role, "owner"))


async def a_project(sessions, org: Org) -> int:
    scope = await scope_of(sessions, org.people["owner"], org.id)
    async with sessions() as session, session.begin():
        return (await projects.create(session, scope, "Research")).id


async def call(browser, org: Org, role: str, route: tuple[str, str], project_id: int = 0):
    method, path = route
    target = other_than(org, role)
    if path.endswith("/projects/{project_id:int}/members"):
        target = org.people["viewer"].user_id  # a member a project can limit (never an owner or admin)
    url = (path.replace("{workspace_id:int}", str(org.id)).replace("{user_id:int}", str(target))
           .replace("{invitation_id:int}", str(org.invitation_id)).replace("{project_id:int}", str(project_id)))
    if method == "GET":
        return await browser.get(url, follow_redirects=False)
    data = {"name": "Renamed", "confirm": "yes", "email": "newcomer@example.com", "role": "viewer",
            "user_id": str(target)}
    return await browser.post(url, data, follow_redirects=False)


@pytest.mark.parametrize("role", roles.ROLES)
@pytest.mark.parametrize("route", sorted(ROUTE_PERMISSION), ids=lambda r: f"{r[0]} {r[1]}")
async def test_each_role_gets_what_the_table_says(route, role, sessions, keyring, cloud, login):
    await make_account(sessions, keyring, "newcomer@example.com")  # someone the add-member form can add
    org = await org_with_every_role(sessions, keyring)
    async with sessions() as session, session.begin():  # one pending invitation to revoke
        owner = await membership(session, org.people["owner"].user_id, org.id)
        org.invitation_id = (await invitations.invite(session, owner, "pending@example.com", "viewer")).invitation.id
    project_id = await a_project(sessions, org) if "{project_id:int}" in route[1] else 0
    browser = await login(org.people[role].email)

    response = await call(browser, org, role, route, project_id)

    permission = ROUTE_PERMISSION[route]
    if permission is None:  # leaving: anyone but the owner
        assert (response.status_code in (302, 303)) if role != "owner" else (response.status_code == 400), \
            (role, route, response.status_code)
        return
    if roles.allows(role, permission):
        assert response.status_code in (200, 302, 303), (role, route, response.status_code, response.text[:300])
    else:
        assert response.status_code == 403, (role, route, response.status_code)
        async with sessions() as session:  # a refused change left no trace in the audit chain
            actions = (await session.execute(select(AuditEvent.action).where(
                AuditEvent.workspace == f"org:{org.id}"))).scalars().all()
        assert set(actions) == {"org.created", "org.member_added", "key.added", "org.member_invited"} | (
            {"project.created"} if project_id else set())


async def launch_in_org(sessions, keyring, http, org: Org, role: str, name: str) -> int:
    scope = await scope_of(sessions, org.people[role], org.id)
    row = await launch(sessions, keyring, http, scope, LaunchSpec(
        binding_id=org.binding_id, name=name, instance_type="sbx.h100.1x", region="sandbox-eu-1"))
    return row.id


@pytest.mark.parametrize("role", roles.ROLES)
async def test_the_console_obeys_the_table(role, sessions, keyring, http, cloud, clock, login):
    """Sees the organization's instances (view); stops them only with ``operate``."""
    await sandbox_offers(sessions)
    org = await org_with_every_role(sessions, keyring)
    launched_by_member = await launch_in_org(sessions, keyring, http, org, "member", "shared-box")
    clock.advance(21)
    browser = await login(org.people[role].email)
    await switch_to(browser, org.id)

    listing = await browser.get("/console")
    assert listing.status_code == 200 and "shared-box" in listing.text  # every role sees it
    detail = await browser.get(f"/console/instances/{launched_by_member}")
    assert detail.status_code == 200

    await browser.post("/console/sync", {})
    response = await browser.post(f"/console/instances/{launched_by_member}/actions/stop", {"confirm": "yes"},
                                  follow_redirects=False)
    async with sessions() as session:
        status = (await session.get(Instance, launched_by_member)).status
    if roles.allows(role, "operate"):
        assert response.status_code in (302, 303), response.text[:300]
        assert status == "stopping"
    else:
        assert response.status_code == 403
        assert status == "running"
    async with sessions() as session:
        offer = (await session.execute(select(Offer.id).where(Offer.source == "sandbox"))).scalars().first()
    launch_page = await browser.post("/console/launch", {"offer": offer, "binding_id": org.binding_id, "name": "mine"},
                                     follow_redirects=False)
    assert (launch_page.status_code == 403) is (not roles.allows(role, "operate"))


async def test_a_member_operates_an_instance_another_member_launched(sessions, keyring, http, cloud, clock, login):
    await sandbox_offers(sessions)
    org = await org_with_every_role(sessions, keyring)
    box = await launch_in_org(sessions, keyring, http, org, "admin", "admins-box")
    clock.advance(21)
    browser = await login(org.people["member"].email)
    await switch_to(browser, org.id)
    await browser.post("/console/sync", {})

    response = await browser.post(f"/console/instances/{box}/actions/delete", {"confirm": "yes"},
                                  follow_redirects=False)

    assert response.status_code in (302, 303)
    async with sessions() as session:
        row = await session.get(Instance, box)
        assert row.status == "terminating" and row.user_id == org.people["admin"].user_id  # still "created by"
        events = (await session.execute(select(AuditEvent.action, AuditEvent.actor).where(
            AuditEvent.workspace == f"org:{org.id}", AuditEvent.target_type == "instance"))).all()
    assert ("instance.launch", "admin@example.com") in events and ("instance.delete", "member@example.com") in events


async def test_a_removed_member_falls_back_to_their_personal_workspace(sessions, keyring, http, cloud, login):
    await sandbox_offers(sessions)
    org = await org_with_every_role(sessions, keyring)
    box = await launch_in_org(sessions, keyring, http, org, "owner", "org-box")
    browser = await login(org.people["member"].email)
    await switch_to(browser, org.id)
    assert (await browser.get(f"/console/instances/{box}")).status_code == 200
    async with sessions() as session, session.begin():
        row = (await session.execute(select(WorkspaceMember).where(
            WorkspaceMember.workspace_id == org.id,
            WorkspaceMember.user_id == org.people["member"].user_id))).scalar_one()
        await session.delete(row)

    assert (await browser.get(f"/console/instances/{box}")).status_code == 404  # re-checked on every request
    assert "org-box" not in (await browser.get("/console")).text
