"""Projects in an organization: the service's rules, a member limited to projects seeing and
operating only theirs (another project's id is a 404 on pages and in the API), owners and admins
and unlimited members seeing everything, assignment refusing another workspace's project, and
cost records taking their instance's project. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.console import bindings, templates_service
from app.console.batch import plan
from app.console.errors import NotFoundForUser
from app.console.instances import LaunchSpec, get_owned, launch, list_instances, set_project
from app.costs.accrual import accrue_costs
from app.db.models import AuditEvent, CostRecord, Instance, Project, ProjectMember, ProviderBinding
from app.db.types import utcnow
from app.workspaces import projects
from app.workspaces.roles import Forbidden
from app.workspaces.scope import NotAMember, resolve
from providers.sandbox import generate_api_key
from tests.console.conftest import make_account, sandbox_offers
from tests.console.test_console_api import bearer, token_for
from tests.workspaces.support import Org, org_with_every_role, scope_of, switch_to

SHAPE = {"instance_type": "sbx.h100.1x", "region": "sandbox-eu-1"}


@dataclass
class World:
    org: Org
    research: int
    training: int
    research_key: int
    """A key in the research project (the organization's own key, moved there)."""
    boxes: dict[str, int]
    """research / training / unassigned -> an instance id"""
    template: int
    """A template in the training project."""


async def owner_scope(sessions, org: Org):
    return await scope_of(sessions, org.people["owner"], org.id)


async def build(sessions, keyring, http) -> World:
    await sandbox_offers(sessions)
    org = await org_with_every_role(sessions, keyring)
    owner = await owner_scope(sessions, org)
    async with sessions() as session, session.begin():
        research = (await projects.create(session, owner, "Research")).id
        training = (await projects.create(session, owner, "Training")).id
    boxes = {}
    for name, project in (("research", research), ("training", training), ("unassigned", None)):
        row = await launch(sessions, keyring, http, owner, LaunchSpec(
            binding_id=org.binding_id, name=f"{name}-box", project_id=project, **SHAPE))
        boxes[name] = row.id
    async with sessions() as session, session.begin():
        await bindings.set_binding_project(session, owner, org.binding_id, research)
        template = await templates_service.create_template(session, owner, {
            "name": "train", "provider": "sandbox", "project_id": str(training), **SHAPE})
    return World(org, research, training, org.binding_id, boxes, template.id)


async def limit(sessions, world: World, role: str, *project_ids: int) -> None:
    owner = await owner_scope(sessions, world.org)
    async with sessions() as session, session.begin():
        for project_id in project_ids:
            await projects.set_members(session, owner, project_id, {world.org.people[role].user_id})


# ---- the service -------------------------------------------------------------------------------

async def test_create_rename_and_names_unique_per_organization(sessions, keyring, cloud):
    org = await org_with_every_role(sessions, keyring)
    owner = await owner_scope(sessions, org)
    other = await org_with_every_role(sessions, keyring, prefix="o2-")
    async with sessions() as session, session.begin():
        row = await projects.create(session, owner, "  Research ")
        with pytest.raises(projects.ProjectError, match="already a project"):
            await projects.create(session, owner, "research")
        with pytest.raises(projects.ProjectError, match="name"):
            await projects.create(session, owner, "   ")
        # The same name in another organization is another project.
        await projects.create(session, await owner_scope(sessions, other), "Research")
        await projects.rename(session, owner, row.id, "Deep research")
    async with sessions() as session:
        assert (await session.get(Project, row.id)).name == "Deep research"
        actions = (await session.execute(select(AuditEvent.action).where(
            AuditEvent.workspace == f"org:{org.id}", AuditEvent.target_type == "project"))).scalars().all()
    assert actions == ["project.created", "project.renamed"]


@pytest.mark.parametrize("role", ["member", "viewer", "billing"])
async def test_only_owners_and_admins_manage_projects(role, sessions, keyring, cloud):
    org = await org_with_every_role(sessions, keyring)
    async with sessions() as session, session.begin():
        row = await projects.create(session, await scope_of(sessions, org.people["admin"], org.id), "By the admin")
    scope = await scope_of(sessions, org.people[role], org.id)
    async with sessions() as session:
        with pytest.raises(Forbidden):
            await projects.create(session, scope, "Mine")
        with pytest.raises(Forbidden):
            await projects.rename(session, scope, row.id, "Mine")
        with pytest.raises(Forbidden):
            await projects.delete(session, scope, row.id)


async def test_a_personal_workspace_has_no_projects(sessions, keyring, cloud):
    account = await make_account(sessions, keyring, "solo@example.com")
    async with sessions() as session:
        scope = await resolve(session, account.user_id)
        assert await projects.list_projects(session, scope) == []
        with pytest.raises(NotAMember):
            await projects.create(session, scope, "Mine")


async def test_delete_is_refused_while_a_deployment_lives_and_leaves_objects_unassigned(
        sessions, keyring, http, cloud, clock):
    world = await build(sessions, keyring, http)
    owner = await owner_scope(sessions, world.org)
    async with sessions() as session:
        with pytest.raises(projects.ProjectError, match="1 instance"):
            await projects.delete(session, owner, world.research)
    async with sessions() as session, session.begin():
        await set_project(session, owner, world.boxes["research"], world.training)  # moved away
        await projects.delete(session, owner, world.research)
    async with sessions() as session:
        assert await session.get(Project, world.research) is None
        key = await session.get(ProviderBinding, world.research_key)
        assert key is not None and key.project_id is None  # the key stays, unassigned
        assert (await session.get(Instance, world.boxes["research"])).project_id == world.training


async def test_another_organizations_project_is_never_taken(sessions, keyring, http, cloud):
    world = await build(sessions, keyring, http)
    other = await org_with_every_role(sessions, keyring, prefix="o2-")
    other_owner = await owner_scope(sessions, other)
    async with sessions() as session, session.begin():
        foreign = (await projects.create(session, other_owner, "Theirs")).id
    owner = await owner_scope(sessions, world.org)
    async with sessions() as session:
        with pytest.raises(projects.NoSuchProject):
            await set_project(session, owner, world.boxes["unassigned"], foreign)
        with pytest.raises(projects.NoSuchProject):
            await bindings.set_binding_project(session, owner, world.research_key, foreign)
        with pytest.raises(projects.NoSuchProject):
            await templates_service.create_template(session, owner, {
                "name": "theirs", "provider": "sandbox", "project_id": str(foreign), **SHAPE})
    with pytest.raises(projects.NoSuchProject):
        await launch(sessions, keyring, http, owner, LaunchSpec(
            binding_id=world.research_key, name="sneaky", project_id=foreign, **SHAPE))
    async with sessions() as session:
        assert (await session.execute(select(Instance.id).where(Instance.name == "sneaky"))).first() is None


# ---- who sees what -----------------------------------------------------------------------------

async def test_a_limited_member_sees_and_operates_only_their_projects(sessions, keyring, http, cloud, clock):
    world = await build(sessions, keyring, http)
    await limit(sessions, world, "member", world.research)
    member = await scope_of(sessions, world.org.people["member"], world.org.id)
    assert member.project_ids == frozenset({world.research})
    async with sessions() as session:
        assert [r.id for r in await list_instances(session, member)] == [world.boxes["research"]]
        assert [b.id for b in await bindings.list_bindings(session, member)] == [world.research_key]
        assert await templates_service.list_templates(session, member) == []  # the template is training's
        for name in ("training", "unassigned"):
            with pytest.raises(NotFoundForUser):
                await get_owned(session, member, world.boxes[name])
            with pytest.raises(NotFoundForUser):
                await plan(session, member, "stop", [world.boxes["research"], world.boxes[name]])
        with pytest.raises(NotFoundForUser):
            await templates_service.get_owned(session, member, world.template)
        with pytest.raises(projects.NoSuchProject):  # nor can they move theirs into a project they are not in
            await set_project(session, member, world.boxes["research"], world.training)
        assert [p.id for p in await projects.list_projects(session, member)] == [world.research]
    # Launching with no project puts it in their only one (it would otherwise vanish from their view).
    row = await launch(sessions, keyring, http, member, LaunchSpec(binding_id=world.research_key, name="mine", **SHAPE))
    assert row.project_id == world.research


@pytest.mark.parametrize("role", ["owner", "admin", "member"])
async def test_owners_admins_and_unlimited_members_see_everything(role, sessions, keyring, http, cloud, clock):
    world = await build(sessions, keyring, http)
    await limit(sessions, world, "viewer", world.research)  # someone else is limited: not them
    if role != "member":
        # A member limited to a project and then made an admin keeps the row; it no longer limits.
        async with sessions() as session, session.begin():
            session.add(ProjectMember(project_id=world.research, user_id=world.org.people[role].user_id,
                                      created_at=utcnow()))
    scope = await scope_of(sessions, world.org.people[role], world.org.id)
    assert scope.project_ids is None
    async with sessions() as session:
        assert {r.id for r in await list_instances(session, scope)} == set(world.boxes.values())
        assert len(await templates_service.list_templates(session, scope)) == 1


async def test_a_member_limited_to_two_projects_must_choose(sessions, keyring, http, cloud, clock):
    world = await build(sessions, keyring, http)
    await limit(sessions, world, "member", world.research, world.training)
    member = await scope_of(sessions, world.org.people["member"], world.org.id)
    with pytest.raises(projects.ProjectError, match="choose one of your projects"):
        await launch(sessions, keyring, http, member, LaunchSpec(binding_id=world.research_key, name="m", **SHAPE))
    async with sessions() as session:
        assert {r.id for r in await list_instances(session, member)} == {world.boxes["research"], world.boxes["training"]}
        assert [t.id for t in await templates_service.list_templates(session, member)] == [world.template]


async def test_cost_records_take_the_instances_project(sessions, keyring, http, cloud, clock):
    world = await build(sessions, keyring, http)
    clock.advance(3600)
    async with sessions() as session, session.begin():
        for row in (await session.execute(select(Instance))).scalars():
            row.status = "running"
    await accrue_costs(sessions)
    async with sessions() as session:
        found = dict((await session.execute(select(CostRecord.instance_id, CostRecord.project_id).distinct())).all())
    assert found == {world.boxes["research"]: world.research, world.boxes["training"]: world.training,
                     world.boxes["unassigned"]: None}


# ---- pages and the API -------------------------------------------------------------------------

async def test_the_projects_page_creates_renames_limits_and_deletes(sessions, keyring, http, cloud, clock, login):
    org = await org_with_every_role(sessions, keyring)
    browser = await login(org.people["admin"].email)
    base = f"/workspaces/{org.id}/projects"
    assert (await browser.post(base, {"name": "Vision"}, follow_redirects=False)).status_code in (302, 303)
    bad = await browser.post(base, {"name": "vision"})
    assert bad.status_code == 400 and "already a project" in bad.text
    async with sessions() as session:
        project_id = (await session.execute(select(Project.id).where(Project.workspace_id == org.id))).scalar_one()
    await browser.post(f"{base}/{project_id}/rename", {"name": "Vision team"})
    viewer = org.people["viewer"].user_id
    await browser.post(f"{base}/{project_id}/members", [("user_id", str(viewer))])
    admin = org.people["admin"].user_id
    refused = await browser.post(f"{base}/{project_id}/members", [("user_id", str(admin))])
    assert refused.status_code == 400  # an admin is never limited
    page = await browser.get(base)
    assert "Vision team" in page.text and f'name="user_id" value="{viewer}" checked' in page.text
    # The limited viewer sees the project on the page, without the forms.
    as_viewer = await login(org.people["viewer"].email)
    mine = await as_viewer.get(base)
    assert mine.status_code == 200 and "Vision team" in mine.text and "/rename" not in mine.text
    await browser.post(f"{base}/{project_id}/delete", {})
    async with sessions() as session:
        assert await session.get(Project, project_id) is None


async def test_a_personal_workspace_has_no_projects_page(sessions, keyring, cloud, login):
    account = await make_account(sessions, keyring, "solo@example.com")
    browser = await login(account.email)
    async with sessions() as session:
        personal = (await resolve(session, account.user_id)).workspace_id
    assert (await browser.get(f"/workspaces/{personal}/projects")).status_code == 404


async def test_a_limited_member_gets_404_for_another_projects_ids_on_pages(sessions, keyring, http, cloud, clock, login):
    world = await build(sessions, keyring, http)
    await limit(sessions, world, "member", world.research)
    browser = await login(world.org.people["member"].email)
    await switch_to(browser, world.org.id)
    listing = await browser.get("/console")
    assert "research-box" in listing.text and "training-box" not in listing.text and "unassigned-box" not in listing.text
    for name in ("training", "unassigned"):
        box = world.boxes[name]
        assert (await browser.get(f"/console/instances/{box}")).status_code == 404
        assert (await browser.post(f"/console/instances/{box}/actions/stop", {"confirm": "yes"})).status_code == 404
    assert (await browser.post(f"/console/templates/{world.template}/delete")).status_code in (403, 404)
    keys = await browser.get("/settings/providers")
    assert f'data-binding="{world.research_key}"' in keys.text
    # Moving theirs into a project they are not in: 404; nothing moved.
    moved = await browser.post(f"/console/instances/{world.boxes['research']}/project", {"project_id": world.training})
    assert moved.status_code == 404
    async with sessions() as session:
        assert (await session.get(Instance, world.boxes["research"])).project_id == world.research


async def test_launch_page_and_moving_a_deployment(sessions, keyring, http, cloud, clock, login):
    world = await build(sessions, keyring, http)
    browser = await login(world.org.people["owner"].email)
    await switch_to(browser, world.org.id)
    async with sessions() as session:
        from app.db.models import Offer
        offer = (await session.execute(select(Offer.id).where(Offer.source == "sandbox"))).scalars().first()
    form = await browser.get(f"/console/launch?offer={offer}")
    assert 'name="project_id"' in form.text and "Training" in form.text
    launched = await browser.post("/console/launch", {"offer": offer, "binding_id": world.research_key,
                                                      "name": "from-page", "project_id": world.training},
                                  follow_redirects=False)
    assert launched.status_code in (302, 303), launched.text[:300]
    async with sessions() as session:
        row = (await session.execute(select(Instance).where(Instance.name == "from-page"))).scalar_one()
    assert row.project_id == world.training
    await browser.post(f"/console/instances/{row.id}/project", {"project_id": ""})
    async with sessions() as session:
        assert (await session.get(Instance, row.id)).project_id is None
    only_research = await browser.get(f"/console?project={world.research}")
    assert "research-box" in only_research.text and "training-box" not in only_research.text


async def test_the_api_lists_creates_deletes_and_filters(sessions, keyring, http, cloud, clock, app):
    world = await build(sessions, keyring, http)
    from litestar.testing import AsyncTestClient
    owner_token = await token_for(sessions, world.org.people["owner"])
    await limit(sessions, world, "member", world.research)
    member_token = await token_for(sessions, world.org.people["member"])
    in_org = {"x-computehub-workspace": str(world.org.id)}
    async with AsyncTestClient(app=app) as client:
        owner = {**bearer(owner_token), **in_org}
        member = {**bearer(member_token), **in_org}
        listed = (await client.get("/api/v1/console/projects", headers=owner)).json()
        assert [p["name"] for p in listed] == ["Research", "Training"]
        created = await client.post("/api/v1/console/projects", json={"name": "Ops"}, headers=owner)
        assert created.status_code == 201, created.text
        assert (await client.post("/api/v1/console/projects", json={"name": "ops"}, headers=owner)).status_code == 400
        assert (await client.post("/api/v1/console/projects", json={"name": "x"}, headers=member)).status_code == 403
        assert (await client.delete(f"/api/v1/console/projects/{world.research}", headers=owner)).status_code == 400
        assert (await client.delete(f"/api/v1/console/projects/{created.json()['id']}", headers=owner)).status_code == 204

        deployments = (await client.get(f"/api/v1/console/deployments?project={world.training}", headers=owner)).json()
        assert [(d["id"], d["project_id"]) for d in deployments] == [(world.boxes["training"], world.training)]
        keys = (await client.get("/api/v1/console/keys", headers=owner)).json()
        assert [k["project_id"] for k in keys] == [world.research]
        assert (await client.get(f"/api/v1/console/templates/{world.template}", headers=owner)).json()[
            "project_id"] == world.training

        # The limited member: only research's deployment; the others are 404s.
        mine = (await client.get("/api/v1/console/deployments", headers=member)).json()
        assert [d["id"] for d in mine] == [world.boxes["research"]]
        for name in ("training", "unassigned"):
            assert (await client.get(f"/api/v1/console/deployments/{world.boxes[name]}", headers=member)
                    ).status_code == 404
        assert (await client.get(f"/api/v1/console/deployments?project={world.training}", headers=member)
                ).status_code == 404
        assert [p["id"] for p in (await client.get("/api/v1/console/projects", headers=member)).json()] == [
            world.research]

        moved = await client.patch(f"/api/v1/console/deployments/{world.boxes['unassigned']}",
                                   json={"project_id": world.training}, headers=owner)
        assert moved.status_code == 200 and moved.json()["project_id"] == world.training
        foreign = await client.patch(f"/api/v1/console/deployments/{world.boxes['unassigned']}",
                                     json={"project_id": 2**31 - 1}, headers=owner)
        assert foreign.status_code == 404


async def test_a_key_added_and_moved_on_the_keys_page(sessions, keyring, http, cloud, clock, login):
    world = await build(sessions, keyring, http)
    browser = await login(world.org.people["owner"].email)
    await switch_to(browser, world.org.id)
    form = await browser.get("/settings/providers/new?provider=sandbox")
    assert 'name="workspace_project"' in form.text
    added = await browser.post("/settings/providers", {"provider": "sandbox", "label": "Training key",
                                                       "api_key": "sbx_training_key_0001",
                                                       "workspace_project": world.training}, follow_redirects=False)
    assert added.status_code in (302, 303), added.text[:300]
    async with sessions() as session:
        key = (await session.execute(select(ProviderBinding).where(ProviderBinding.label == "Training key"))).scalar_one()
    assert key.project_id == world.training
    await browser.post(f"/settings/providers/{key.id}/project", {"workspace_project": world.research})
    async with sessions() as session:
        assert (await session.get(ProviderBinding, key.id)).project_id == world.research


async def test_costs_by_project_and_a_limited_members_costs(sessions, keyring, http, cloud, clock, login, app):
    world = await build(sessions, keyring, http)
    clock.advance(3600)
    async with sessions() as session, session.begin():
        for row in (await session.execute(select(Instance))).scalars():
            row.status = "running"
    await accrue_costs(sessions)
    async with sessions() as session:
        amounts = dict((await session.execute(select(CostRecord.instance_id, func.sum(CostRecord.amount))
                                              .group_by(CostRecord.instance_id))).all())
    owner_token = await token_for(sessions, world.org.people["owner"])
    await limit(sessions, world, "member", world.training)
    member_token = await token_for(sessions, world.org.people["member"])
    in_org = {"x-computehub-workspace": str(world.org.id)}
    from litestar.testing import AsyncTestClient
    async with AsyncTestClient(app=app) as client:
        owner = {**bearer(owner_token), **in_org}
        everything = (await client.get("/api/v1/console/costs", headers=owner)).json()
        assert Decimal(everything["total"]) == sum(amounts.values())
        research = (await client.get(f"/api/v1/console/costs?project={world.research}", headers=owner)).json()
        assert Decimal(research["total"]) == amounts[world.boxes["research"]]
        assert [g["key"] for g in research["by_deployment"]] == [str(world.boxes["research"])]
        # The limited member's costs are their projects' only; another project is a 404.
        member = {**bearer(member_token), **in_org}
        mine = (await client.get("/api/v1/console/costs", headers=member)).json()
        assert Decimal(mine["total"]) == amounts[world.boxes["training"]]
        assert (await client.get(f"/api/v1/console/costs?project={world.research}", headers=member)).status_code == 404
    browser = await login(world.org.people["owner"].email)
    await switch_to(browser, world.org.id)
    page = await browser.get(f"/costs?project={world.training}")
    assert page.status_code == 200 and 'name="project"' in page.text and "training-box" in page.text
    assert "research-box" not in page.text


async def test_the_cost_csv_of_an_organization_names_each_rows_project(sessions, keyring, http, cloud, clock, login):
    world = await build(sessions, keyring, http)
    clock.advance(3600)
    async with sessions() as session, session.begin():
        for row in (await session.execute(select(Instance))).scalars():
            row.status = "running"
    await accrue_costs(sessions)
    browser = await login(world.org.people["owner"].email)
    await switch_to(browser, world.org.id)
    response = await browser.get("/costs/export.csv")
    assert response.status_code == 200
    lines = response.text.strip().splitlines()
    assert lines[0].split(",")[:4] == ["date", "instance_id", "instance", "project"]
    projects_by_box = {line.split(",")[2]: line.split(",")[3] for line in lines[1:]}
    assert projects_by_box == {"research-box": "Research", "training-box": "Training", "unassigned-box": ""}
    only = (await browser.get(f"/costs/export.csv?project={world.training}")).text.strip().splitlines()
    assert [line.split(",")[2] for line in only[1:]] == ["training-box"] * (len(only) - 1) and len(only) > 1


async def test_a_limited_members_overview_shows_only_their_projects(sessions, keyring, http, cloud, clock, login):
    world = await build(sessions, keyring, http)
    await limit(sessions, world, "member", world.research)
    browser = await login(world.org.people["member"].email)
    await switch_to(browser, world.org.id)
    overview = await browser.get("/console/overview")
    assert overview.status_code == 200
    assert "research-box" in overview.text and "training-box" not in overview.text
    assert "unassigned-box" not in overview.text
    history = await browser.get("/console/history")
    assert history.status_code == 200


async def test_a_limited_members_statement_is_their_projects_part(sessions, keyring, http, cloud, clock, login):
    world = await build(sessions, keyring, http)
    clock.advance(3600)
    async with sessions() as session, session.begin():
        for row in (await session.execute(select(Instance))).scalars():
            row.status = "running"
    await accrue_costs(sessions)
    await limit(sessions, world, "member", world.research)
    async with sessions() as session:  # the month the costs fell in (the clock may have crossed into the next)
        month = (await session.execute(select(func.max(CostRecord.period_start)))).scalar_one().strftime("%Y-%m")
    for role, shown in (("member", {"research-box"}), ("owner", {"research-box", "training-box", "unassigned-box"})):
        browser = await login(world.org.people[role].email)
        await switch_to(browser, world.org.id)
        statement = await browser.get(f"/costs/statements/{month}")
        assert statement.status_code == 200
        assert {name for name in world_box_names() if name in statement.text} == shown, role


def world_box_names() -> tuple[str, ...]:
    return ("research-box", "training-box", "unassigned-box")


async def test_a_template_launches_into_its_project_unless_told_otherwise(sessions, keyring, http, cloud, clock):
    world = await build(sessions, keyring, http)
    owner = await owner_scope(sessions, world.org)
    async with sessions() as session:
        default = await templates_service.launch_spec(session, owner, world.template, world.research_key, "t-1")
        chosen = await templates_service.launch_spec(session, owner, world.template, world.research_key, "t-2",
                                                     world.research)
    assert (default.project_id, chosen.project_id) == (world.training, world.research)
    row = await launch(sessions, keyring, http, owner, default)
    assert row.project_id == world.training and row.template_id == world.template


async def test_the_activity_log_names_each_changes_project_and_filters_by_it(sessions, keyring, http, cloud, clock, login):
    """A launch, a stop and a key moved into a project are that project's changes; the filter shows
    only them, names the project on each row, and refuses another organization's project."""
    world = await build(sessions, keyring, http)
    other = await org_with_every_role(sessions, keyring, prefix="o2-")
    owner = await owner_scope(sessions, world.org)
    async with sessions() as session, session.begin():
        foreign = (await projects.create(session, await owner_scope(sessions, other), "Theirs")).id
    async with sessions() as session:
        launches = dict((await session.execute(
            select(AuditEvent.target_id, AuditEvent.project).where(
                AuditEvent.workspace == owner.audit_key, AuditEvent.action == "instance.launch"))).all())
    assert launches == {str(world.boxes["research"]): str(world.research),
                        str(world.boxes["training"]): str(world.training), str(world.boxes["unassigned"]): ""}

    browser = await login(world.org.people["owner"].email)
    await switch_to(browser, world.org.id)
    doc = await browser.page(f"/settings/activity?project={world.research}")
    rows = doc.find("table", class_="activity-log").one("tbody").find_all("tr")
    shown = [(tr.get("data-action"), tr.text) for tr in rows]
    assert sorted(action for action, _ in shown) == ["instance.launch", "key.project_changed", "project.created"]
    assert all("project: Research" in text for _, text in shown)
    select_box = doc.one("select", name="project")
    assert {o.text.strip() for o in select_box.find_all("option")} == {"All projects", "Research", "Training"}

    refused = await browser.get(f"/settings/activity?project={foreign}")
    assert refused.status_code == 400 and "choose a project from the list" in refused.text
    assert (await browser.get(f"/settings/activity/export.csv?project={foreign}")).status_code == 400
    exported = await browser.get(f"/settings/activity/export.csv?project={world.training}")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows and {r["project"] for r in rows} == {str(world.training)}


async def test_sync_now_of_a_limited_member_touches_only_their_projects_keys(sessions, keyring, http, cloud, clock):
    """"Sync now" (and the console's poll) calls the provider with the keys the member can see:
    their project's key, not the organization's other keys."""
    from app.console.overview import sync_user

    world = await build(sessions, keyring, http)
    owner = await owner_scope(sessions, world.org)
    async with sessions() as session, session.begin():
        other_key = (await bindings.add_binding(session, keyring, owner, "sandbox", "Unassigned key",
                                                {"api_key": generate_api_key()})).id
    await limit(sessions, world, "member", world.research)
    member = await scope_of(sessions, world.org.people["member"], world.org.id)
    synced = {report.binding_id for report in await sync_user(sessions, keyring, http, member)}
    assert synced == {world.research_key}
    everything = {report.binding_id for report in await sync_user(sessions, keyring, http, owner)}
    assert everything == {world.research_key, other_key}


async def test_two_concurrent_creates_of_one_name_make_one_project_and_a_clear_refusal(sessions, keyring, cloud):
    import asyncio

    org = await org_with_every_role(sessions, keyring)
    owner = await owner_scope(sessions, org)
    both_checked = asyncio.Barrier(2)
    real_refuse = projects._refuse_taken

    async def refuse_then_wait(*args, **kwargs):  # both pass the name check before either inserts
        await real_refuse(*args, **kwargs)
        await both_checked.wait()

    async def create() -> str:
        try:
            async with sessions() as session, session.begin():
                await projects.create(session, owner, "Inference")
            return "created"
        except projects.ProjectError as exc:
            return str(exc)

    projects._refuse_taken = refuse_then_wait
    try:
        outcomes = await asyncio.wait_for(asyncio.gather(create(), create()), 30)
    finally:
        projects._refuse_taken = real_refuse
    assert sorted(outcomes) == ["created", "there is already a project named 'Inference'"]
    async with sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Project).where(
            Project.workspace_id == org.id))).scalar_one() == 1


async def test_the_api_renames_a_project_and_sets_who_is_limited_to_it(sessions, keyring, http, cloud, clock, app):
    """PATCH /projects/{id}: what the projects page does. Limiting a member through it changes what
    that member's token sees; owners and admins cannot be limited; another workspace's project is a 404."""
    from litestar.testing import AsyncTestClient

    world = await build(sessions, keyring, http)
    other = await org_with_every_role(sessions, keyring, prefix="o2-")
    async with sessions() as session, session.begin():
        foreign = (await projects.create(session, await owner_scope(sessions, other), "Theirs")).id
    owner_token = await token_for(sessions, world.org.people["owner"])
    member_token = await token_for(sessions, world.org.people["member"])
    in_org = {"x-computehub-workspace": str(world.org.id)}
    member_id = world.org.people["member"].user_id
    async with AsyncTestClient(app=app) as client:
        owner = {**bearer(owner_token), **in_org}
        member = {**bearer(member_token), **in_org}
        url = f"/api/v1/console/projects/{world.training}"
        assert len((await client.get("/api/v1/console/deployments", headers=member)).json()) == 3  # unlimited

        renamed = await client.patch(url, json={"name": "Training runs"}, headers=owner)
        assert renamed.status_code == 200 and renamed.json()["name"] == "Training runs"
        limited = await client.patch(url, json={"limited_member_ids": [member_id]}, headers=owner)
        assert limited.status_code == 200 and limited.json()["limited_member_ids"] == [member_id]
        assert limited.json()["name"] == "Training runs"  # a field left out is left as it is
        mine = (await client.get("/api/v1/console/deployments", headers=member)).json()
        assert [d["id"] for d in mine] == [world.boxes["training"]]

        owner_id = world.org.people["owner"].user_id
        refused = await client.patch(url, json={"limited_member_ids": [owner_id]}, headers=owner)
        assert refused.status_code == 400 and "not owners or admins" in refused.json()["detail"]
        taken = await client.patch(url, json={"name": "research"}, headers=owner)
        assert taken.status_code == 400 and "already a project named" in taken.json()["detail"]
        assert (await client.patch(url, json={"name": "x"}, headers=member)).status_code == 403
        assert (await client.patch(url, json={"colour": "red"}, headers=owner)).status_code == 400
        assert (await client.patch(f"/api/v1/console/projects/{foreign}", json={"name": "mine"},
                                   headers=owner)).status_code == 404

        freed = await client.patch(url, json={"limited_member_ids": []}, headers=owner)
        assert freed.status_code == 200 and freed.json()["limited_member_ids"] == []
        assert len((await client.get("/api/v1/console/deployments", headers=member)).json()) == 3
    async with sessions() as session:
        assert (await session.get(Project, world.training)).name == "Training runs"
