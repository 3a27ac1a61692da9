"""Costs per member and per project in an organization: two members, two projects, deployments
over the November/December boundary, costs written by the real accrual job. The expected amounts
are computed here from the deployments' own hours and prices (``SEGMENTS``), never by the app's
code; every split must add up to the total to the micro-dollar, and the page, the CSV, the API and
the statement (page, CSV, PDF) must agree. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

import plotly.graph_objects as go
import pytest
from litestar.testing import AsyncTestClient

from app.console.api import costs as api_costs
from app.costs import pages as cost_pages
from app.costs import statement_pages
from app.costs.accrual import accrue_costs
from app.db.models import Instance, InstanceEvent, User
from app.workspaces import organizations, projects
from app.workspaces.scope import membership, personal_workspace_id
from tests.console.conftest import Account, make_account
from tests.console.test_console_api import bearer, token_for
from tests.costs.support import amount, csv_rows, figure
from tests.costs.test_statements import pdf_text
from tests.web.html import Node
from tests.workspaces.support import switch_to

UTC = timezone.utc
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
DECEMBER_1 = datetime(2026, 12, 1, tzinfo=UTC)
RANGE = "from=2026-11-01&to=2026-12-02"


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass(frozen=True)
class Segment:
    """A stretch of billed time at one price: (deployment, who launched it, its project)."""
    box: str
    who: str
    project: str | None
    start: datetime
    end: datetime
    price: str


SEGMENTS = [
    # Olga's training run crosses midnight into December: 4 h in each month at $2.50.
    Segment("olga-train", "olga", "Training", at(11, 30, 20), at(12, 1, 4), "2.50"),
    # Olga's unassigned box: 3 h 15 min at $1.37.
    Segment("olga-loose", "olga", None, at(11, 10, 0), at(11, 10, 3, 15), "1.37"),
    # Bob's research box: 25 h in November and 1 h 30 min in December at $0.89.
    Segment("bob-research", "bob", "Research", at(11, 29, 23), at(12, 1, 1, 30), "0.89"),
    # Bob's training box, repriced after an hour: 1 h at $3.10, then 45 min at $3.30.
    Segment("bob-train", "bob", "Training", at(11, 15, 12), at(11, 15, 13), "3.10"),
    Segment("bob-train", "bob", "Training", at(11, 15, 13), at(11, 15, 13, 45), "3.30"),
]
BOXES = {"olga-train": ("sandbox", "h100-sxm"), "olga-loose": ("lambdalabs", "a100-sxm-80gb"),
         "bob-research": ("runpod", "h100-sxm"), "bob-train": ("hyperstack", "h100-pcie")}


def cost_of(segment: Segment, start: datetime, end: datetime) -> Decimal:
    start, end = max(start, segment.start), min(end, segment.end)
    seconds = max(0, int((end - start).total_seconds()))
    return Decimal(segment.price) * seconds / 3600


def expected(start: datetime, end: datetime, key) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for segment in SEGMENTS:
        part = cost_of(segment, start, end)
        if part:
            totals[key(segment)] += part
    return dict(totals)


NOVEMBER = (at(11, 1), DECEMBER_1)
WHOLE_RANGE = (at(11, 1), NOW)


@dataclass
class World:
    org: int
    users: dict[str, int]
    """olga (owner), bob (member), vera (viewer), bill (billing), zed (another organization's owner)"""
    emails: dict[str, str]
    projects: dict[str, int]
    other_project: int


async def _instance(sessions, workspace_id: int, user_id: int, project_id: int | None, name: str,
                    segments: list[Segment]) -> None:
    provider, gpu = BOXES.get(name, ("sandbox", "h100-sxm"))
    async with sessions() as session, session.begin():
        row = Instance(
            workspace_id=workspace_id, user_id=user_id, project_id=project_id, provider=provider,
            provider_instance_id=f"{provider}-{name}", client_token=f"{user_id}-{name}", name=name,
            instance_type=f"{provider}.{gpu}.1x", region="eu-1", gpu_slug=gpu, gpu_count=Decimal(1),
            status="stopped", offer_price_per_hour=Decimal(segments[0].price), created_at=segments[0].start,
            updated_at=segments[-1].end)
        session.add(row)
        await session.flush()
        for segment in segments:
            session.add(InstanceEvent(instance_id=row.id, status="running", at=segment.start,
                                      price_per_hour=Decimal(segment.price)))
        session.add(InstanceEvent(instance_id=row.id, status="stopped", at=segments[-1].end,
                                  price_per_hour=Decimal(segments[-1].price)))


@pytest.fixture
async def world(sessions, keyring, monkeypatch) -> World:
    for module in (cost_pages, statement_pages, api_costs):
        monkeypatch.setattr(module, "utcnow", lambda: NOW)
    people = {}
    for key, plan in (("olga", "enterprise"), ("bob", None), ("vera", None), ("bill", None), ("zed", "enterprise")):
        people[key] = await make_account(sessions, keyring, f"{key}@example.com", plan=plan)
    async with sessions() as session, session.begin():
        scope = await organizations.create(session, await session.get(User, people["olga"].user_id), "Acme ML")
        for key, role in (("bob", "member"), ("vera", "viewer"), ("bill", "billing")):
            await organizations.add_member(session, scope, people[key].email, role)
        names = {name: (await projects.create(session, scope, name)).id for name in ("Research", "Training")}
        other = await organizations.create(session, await session.get(User, people["zed"].user_id), "Other Org")
        other_project = (await projects.create(session, other, "Secret")).id
    users = {key: account.user_id for key, account in people.items()}
    for name in BOXES:
        mine = [s for s in SEGMENTS if s.box == name]
        await _instance(sessions, scope.workspace_id, users[mine[0].who],
                        names[mine[0].project] if mine[0].project else None, name, mine)
    # Never in the organization's figures: another organization's box and Olga's personal one.
    await _instance(sessions, other.workspace_id, users["zed"], other_project, "zed-secret-box",
                    [Segment("zed-secret-box", "zed", "Secret", at(11, 5), at(11, 6), "9.99")])
    async with sessions() as session, session.begin():
        personal = await personal_workspace_id(session, users["olga"])
    await _instance(sessions, personal, users["olga"], None, "olga-home-box",
                    [Segment("olga-home-box", "olga", None, at(11, 3), at(11, 4), "7.77")])
    await accrue_costs(sessions, now=NOW)
    return World(scope.workspace_id, users, {k: a.email for k, a in people.items()}, names, other_project)


async def in_org(login, world: World, who: str):
    browser = await login(world.emails[who])
    await switch_to(browser, world.org)
    return browser


def shares(doc: Node, kind: str) -> dict[str, Decimal]:
    return {row.get("data-label"): amount(row)
            for row in doc.one("table", class_="shares", data_split=kind).one("tbody").find_all("tr")}


def by_member(start, end) -> dict[str, Decimal]:
    return expected(start, end, lambda s: s.who)


def by_project(start, end) -> dict[str, Decimal]:
    return expected(start, end, lambda s: s.project or "No project")


def total(start, end) -> Decimal:
    return sum(expected(start, end, lambda s: "all").values(), Decimal(0))


# ---- /costs ----------------------------------------------------------------------------------

async def test_the_page_splits_the_range_by_member_and_project(world, login):
    browser = await in_org(login, world, "olga")
    doc = await browser.page(f"/costs?{RANGE}")
    everything = total(*WHOLE_RANGE)
    assert everything == Decimal("53.6125")  # 42.2775 in November + 11.335 in December
    assert amount(doc.one(class_="stat-card", data_card="total")) == everything
    assert shares(doc, "member") == by_member(*WHOLE_RANGE) == {"olga": Decimal("24.4525"), "bob": Decimal("29.16")}
    assert shares(doc, "project") == by_project(*WHOLE_RANGE)
    for kind in ("member", "project", "provider", "gpu"):
        assert sum(shares(doc, kind).values()) == everything, kind
    # The charts carry the same exact amounts as the tables.
    bars = figure(doc, "cost-member-chart")["data"][0]
    assert dict(zip(bars["y"], map(Decimal, bars["customdata"]))) == by_member(*WHOLE_RANGE)
    for chart in ("cost-member-chart", "cost-project-chart"):
        go.Figure(figure(doc, chart))  # raises on any property plotly does not know
    ring = figure(doc, "cost-project-chart")["data"][0]
    assert dict(zip(ring["labels"], map(Decimal, ring["customdata"]))) == by_project(*WHOLE_RANGE)
    # The member select lists the organization's members (and only them).
    options = {o.get("value"): o.text.strip() for o in _select(doc, "member").find_all("option")}
    assert options == {"": "All members", **{str(world.users[k]): k for k in ("bill", "bob", "olga", "vera")}}
    assert "zed" not in doc.text and "zed-secret-box" not in doc.text and "olga-home-box" not in doc.text


def _select(doc: Node, name: str) -> Node:
    return next(node for node in doc.find_all("select") if node.get("name") == name)


async def test_the_member_filter_narrows_the_cards_table_and_csv(world, login):
    browser = await in_org(login, world, "olga")
    bob = world.users["bob"]
    doc = await browser.page(f"/costs?{RANGE}&member={bob}")
    assert amount(doc.one(class_="stat-card", data_card="total")) == by_member(*WHOLE_RANGE)["bob"]
    assert amount(doc.one(class_="stat-card", data_card="month")) == by_member(DECEMBER_1, NOW)["bob"]
    assert shares(doc, "member") == {"bob": by_member(*WHOLE_RANGE)["bob"]}
    assert {row.get("data-instance") for row in doc.one("table", class_="cost-history").find_all("tr")
            if row.get("data-instance")} and "olga-train" not in doc.text
    # Member and project together: Bob's part of Training.
    both = await browser.page(f"/costs?{RANGE}&member={bob}&project={world.projects['Training']}")
    assert amount(both.one(class_="stat-card", data_card="total")) == expected(
        *WHOLE_RANGE, lambda s: (s.who, s.project))[("bob", "Training")] == Decimal("5.575")


async def test_the_csv_names_each_rows_member_and_adds_up(world, login):
    browser = await in_org(login, world, "olga")
    response = await browser.get(f"/costs/export.csv?{RANGE}")
    assert response.status_code == 200
    rows = csv_rows(response.text)
    assert list(rows[0])[:5] == ["date", "instance_id", "instance", "project", "member"]
    per_member: dict[str, Decimal] = defaultdict(Decimal)
    per_project: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        per_member[row["member"]] += Decimal(row["amount"])
        per_project[row["project"] or "No project"] += Decimal(row["amount"])
    assert dict(per_member) == by_member(*WHOLE_RANGE)
    assert dict(per_project) == by_project(*WHOLE_RANGE)
    only_olga = csv_rows((await browser.get(f"/costs/export.csv?{RANGE}&member={world.users['olga']}")).text)
    assert {r["member"] for r in only_olga} == {"olga"}
    assert sum(Decimal(r["amount"]) for r in only_olga) == by_member(*WHOLE_RANGE)["olga"]


async def test_a_personal_workspace_keeps_its_csv_columns(world, login):
    browser = await login(world.emails["olga"])  # the personal workspace until switched
    rows = csv_rows((await browser.get(f"/costs/export.csv?{RANGE}")).text)
    assert list(rows[0]) == ["date", "instance_id", "instance", "provider", "gpu", "hours", "price_per_hour", "amount"]
    assert {r["instance"] for r in rows} == {"olga-home-box"}
    doc = await browser.page(f"/costs?{RANGE}")
    assert doc.find("table", class_="shares", data_split="member") is None and not any(
        s.get("name") == "member" for s in doc.find_all("select"))


@pytest.mark.parametrize("value", ["zed", "abc", "-1", "99999999999"])
async def test_a_member_outside_the_workspace_is_a_clear_400(world, login, value):
    member = str(world.users[value]) if value == "zed" else value
    browser = await in_org(login, world, "olga")
    page = await browser.get(f"/costs?member={member}")
    assert page.status_code == 400 and "member: choose a member" in page.text
    export = await browser.get(f"/costs/export.csv?member={member}")
    assert export.status_code == 400 and export.headers["content-type"].startswith("text/plain")
    assert "member: choose a member" in export.text


async def test_a_limited_member_sees_only_their_projects_costs_whatever_the_member_filter(world, login, sessions):
    async with sessions() as session, session.begin():
        owner = await membership(session, world.users["olga"], world.org)
        await projects.set_members(session, owner, world.projects["Research"], {world.users["bob"]})
    browser = await in_org(login, world, "bob")
    doc = await browser.page(f"/costs?{RANGE}")
    research = by_project(*WHOLE_RANGE)["Research"]
    assert amount(doc.one(class_="stat-card", data_card="total")) == research
    assert shares(doc, "member") == {"bob": research} and shares(doc, "project") == {"Research": research}
    # Filtering by Olga never widens the view to her costs outside Research: there are none inside.
    olga = await browser.page(f"/costs?{RANGE}&member={world.users['olga']}")
    assert amount(olga.one(class_="stat-card", data_card="total")) == 0
    assert "olga-train" not in olga.text and "olga-loose" not in olga.text
    # Another project is a 404, as before.
    assert (await browser.get(f"/costs?project={world.projects['Training']}")).status_code == 404


@pytest.mark.parametrize("role", ["vera", "bill"])
async def test_viewers_and_billing_see_the_per_member_split(world, login, role):
    """view_costs is the one permission: every role that sees costs sees who they come from (the
    same roles read the members page, so no name is new to them)."""
    doc = await (await in_org(login, world, role)).page(f"/costs?{RANGE}")
    assert shares(doc, "member") == by_member(*WHOLE_RANGE)


# ---- the console API -------------------------------------------------------------------------

async def test_the_api_gives_totals_per_member_and_project_and_takes_both_filters(world, sessions, app):
    token = await token_for(sessions, Account(world.users["olga"], world.emails["olga"], 0, ""))
    headers = {**bearer(token), "x-computehub-workspace": str(world.org)}
    labels = {str(world.users["olga"]): "olga", str(world.users["bob"]): "bob"}
    project_labels = {str(v): k for k, v in world.projects.items()} | {"": "No project"}
    async with AsyncTestClient(app=app) as client:
        body = (await client.get(f"/api/v1/console/costs?{RANGE}", headers=headers)).json()
        assert Decimal(body["total"]) == total(*WHOLE_RANGE)
        assert {labels[g["key"]]: Decimal(g["amount"]) for g in body["by_member"]} == by_member(*WHOLE_RANGE)
        assert {project_labels[g["key"]]: Decimal(g["amount"]) for g in body["by_project"]} == by_project(*WHOLE_RANGE)
        for split in ("by_member", "by_project", "by_provider", "by_gpu", "by_deployment"):
            assert sum(Decimal(g["amount"]) for g in body[split]) == Decimal(body["total"]), split
        bob = (await client.get(f"/api/v1/console/costs?{RANGE}&member={world.users['bob']}"
                                f"&project={world.projects['Research']}", headers=headers)).json()
        assert bob["member"] == world.users["bob"] and bob["project"] == world.projects["Research"]
        assert Decimal(bob["total"]) == by_project(*WHOLE_RANGE)["Research"]
        refused = await client.get(f"/api/v1/console/costs?member={world.users['zed']}", headers=headers)
        assert refused.status_code == 400 and "member" in refused.text
        assert (await client.get(f"/api/v1/console/costs?project={world.other_project}",
                                 headers=headers)).status_code == 404


# ---- statements --------------------------------------------------------------------------------

def statement_tables(doc: Node, by_key: bool = False) -> dict[str, dict[str, Decimal]]:
    """table kind -> {row label (or data-key) -> exact amount}."""
    return {table.get("data-table"): {(row.get("data-key") if by_key else _first_cell(row)): amount(row)
                                      for row in table.one("tbody").find_all("tr") if row.get("data-key") is not None}
            for table in doc.find_all("table", class_="statement-table")}


def _split(segments: list[Segment], key) -> dict[str, Decimal]:
    """November's cost of these segments by ``key``."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for segment in segments:
        if part := cost_of(segment, *NOVEMBER):
            totals[key(segment)] += part
    return dict(totals)


def _first_cell(row: Node) -> str:
    cell = row.find("td")
    detail = cell.find(class_="statement-detail")
    return cell.text.replace(detail.text, "").strip() if detail else cell.text.strip()


async def test_the_organizations_statement_has_totals_by_project_and_member(world, login, tmp_path):
    browser = await in_org(login, world, "olga")
    doc = await browser.page("/costs/statements/2026-11")
    november = total(*NOVEMBER)
    assert november == Decimal("42.2775")
    assert amount(doc.one(class_="statement-total")) == november
    tables = statement_tables(doc)
    assert tables["member"] == by_member(*NOVEMBER)
    assert tables["project"] == by_project(*NOVEMBER)
    for kind, lines in tables.items():
        assert sum(lines.values()) == november, kind
    # The CSV: a row per deployment (and project), with its project and member, adding up the same way.
    rows = csv_rows((await browser.get("/costs/statements/2026-11/statement.csv")).text)
    assert list(rows[0]) == ["month", "deployment", "project", "member", "provider_and_gpu", "hours", "amount_usd"]
    per_member, per_project = defaultdict(Decimal), defaultdict(Decimal)
    for row in rows:
        per_member[row["member"]] += Decimal(row["amount_usd"])
        per_project[row["project"]] += Decimal(row["amount_usd"])
    assert dict(per_member) == tables["member"] and dict(per_project) == tables["project"]
    # The PDF carries the same tables.
    response = await browser.get("/costs/statements/2026-11/statement.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    text = pdf_text(response.content, tmp_path)
    assert "By project" in text and "By member" in text and "Acme ML (organization)" in text
    for value in (november, *by_member(*NOVEMBER).values(), *by_project(*NOVEMBER).values()):
        assert f"${value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}" in text, value  # shown to the cent
    assert "zed-secret-box" not in text and "olga-home-box" not in text


async def test_a_projects_statement_covers_that_project_only(world, login, tmp_path):
    browser = await in_org(login, world, "olga")
    training = world.projects["Training"]
    doc = await browser.page(f"/costs/statements/2026-11?project={training}")
    expect = expected(*NOVEMBER, lambda s: s.project)["Training"]
    assert expect == Decimal("15.575")
    assert amount(doc.one(class_="statement-total")) == expect
    assert doc.one(class_="statement-project").text.strip() == "Training"
    tables = statement_tables(doc)
    assert "project" not in tables
    keys = statement_tables(doc, by_key=True)
    in_training = [s for s in SEGMENTS if s.project == "Training"]
    assert keys["provider"] == _split(in_training, lambda s: BOXES[s.box][0])
    assert keys["gpu"] == _split(in_training, lambda s: BOXES[s.box][1])
    assert tables["member"] == _split(in_training, lambda s: s.who) == {"olga": Decimal("10"), "bob": Decimal("5.575")}
    assert "olga-loose" not in doc.text and "bob-research" not in doc.text
    # The links to its files and the other months keep the project.
    hrefs = {a.get("href") for a in doc.find_all("a")}
    assert {f"/costs/statements/2026-11/statement.pdf?project={training}",
            f"/costs/statements/2026-11/statement.csv?project={training}",
            f"/costs/statements/2026-10?project={training}"} <= hrefs
    rows = csv_rows((await browser.get(f"/costs/statements/2026-11/statement.csv?project={training}")).text)
    assert {r["project"] for r in rows} == {"Training"}
    assert sum(Decimal(r["amount_usd"]) for r in rows) == expect
    pdf = await browser.get(f"/costs/statements/2026-11/statement.pdf?project={training}")
    assert pdf.status_code == 200 and "statement-2026-11-project-" in pdf.headers["content-disposition"]
    text = pdf_text(pdf.content, tmp_path)
    assert "Statement for November 2026: Training" in text and "$15.58" in text
    assert "olga-loose" not in text and "bob-research" not in text


async def test_another_workspaces_project_statement_is_a_404(world, login):
    browser = await in_org(login, world, "olga")
    for url in (f"/costs/statements/2026-11?project={world.other_project}",
                f"/costs/statements/2026-11/statement.csv?project={world.other_project}",
                f"/costs/statements/2026-11/statement.pdf?project={world.other_project}",
                f"/costs/statements?project={world.other_project}",
                "/costs/statements/2026-11?project=999999"):
        assert (await browser.get(url)).status_code == 404, url
    bad = await browser.get("/costs/statements/2026-11?project=abc")
    assert bad.status_code == 400
    # In the personal workspace there are no projects at all.
    personal = await login(world.emails["olga"])
    assert (await personal.get(f"/costs/statements/2026-11?project={world.projects['Training']}")).status_code == 404


async def test_the_statements_list_and_the_project_page_link_to_project_statements(world, login):
    browser = await in_org(login, world, "olga")
    training = world.projects["Training"]
    listing = await browser.page("/costs/statements")
    assert f"/costs/statements?project={training}" in {a.get("href") for a in listing.find_all("a")}
    months = await browser.page(f"/costs/statements?project={training}")
    rows = {r.get("data-month"): amount(r) for r in months.one("table", class_="statement-list").one("tbody").find_all("tr")}
    assert rows["2026-11"] == Decimal("15.575") and rows["2026-12"] == expected(
        DECEMBER_1, NOW, lambda s: s.project)["Training"]
    opened = await browser.get(f"/costs/statements?month=2026-11&project={training}", follow_redirects=False)
    assert opened.headers["location"] == f"/costs/statements/2026-11?project={training}"
    project_page = await browser.page(f"/workspaces/{world.org}/projects")
    assert f"/costs/statements?project={training}" in {a.get("href") for a in project_page.find_all("a")}
