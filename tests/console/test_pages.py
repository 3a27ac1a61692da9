"""The console pages as a user sees them: the deployments list, one deployment, confirmations,
launching from an offer, the poll that keeps the list current, and "Sync now"."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from app.console.instances import LaunchSpec, launch, perform
from app.console.sync import sync_binding
from app.db.models import Instance, Offer
from app.db.types import utcnow
from app.workspaces import personal_workspace_id
from tests.console.conftest import sandbox_offers
from tests.support.factories import make_offer, seed
from tests.web.html import parse_html


async def deploy(sessions, keyring, http, account, name: str = "gpu-1", instance_type: str = "sbx.h100.1x") -> int:
    row = await launch(sessions, keyring, http, account.user_id, LaunchSpec(
        binding_id=account.binding_id, name=name, instance_type=instance_type, region="sandbox-eu-1",
        gpu_slug="h100-sxm", gpu_raw_name="H100 SXM", gpu_count=1))
    return row.id


async def sandbox_offer(sessions, instance_type: str = "sbx.h100.1x", spot: bool = False) -> Offer:
    await sandbox_offers(sessions)
    async with sessions() as session:
        return (await session.execute(select(Offer).where(
            Offer.source == "sandbox", Offer.instance_type == instance_type, Offer.region == "sandbox-eu-1",
            Offer.spot == spot))).scalar_one()


def row_of(doc, name: str):
    return doc.one("tr", data_name=name)


async def test_login_is_required(app):
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=app) as anonymous:
        response = await anonymous.get("/console/templates", follow_redirects=False)
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/login?next=%2Fconsole%2Ftemplates"


async def test_the_list_shows_every_deployment_with_state_price_origin_and_error(
        as_alice, sessions, keyring, http, cloud, clock, alice):
    await deploy(sessions, keyring, http, alice, "train-1")
    cloud.create_instance(alice.api_key, {"name": "by-hand", "instance_type": "sbx.a100.1x", "region": "sandbox-us-1"})
    cloud.set_faults(alice.api_key, no_capacity_types={"sbx.l40s.1x"})
    try:
        await launch(sessions, keyring, http, alice.user_id, LaunchSpec(
            binding_id=alice.binding_id, name="no-room", instance_type="sbx.l40s.1x", region="sandbox-us-1"))
    except Exception:  # noqa: BLE001 - the refusal itself is tested in test_reconcile
        pass
    clock.advance(21)
    await sync_binding(sessions, keyring, http, alice.binding_id)

    doc = await as_alice.page("/console")

    train = row_of(doc, "train-1")
    cells = [td.text for td in train.find_all("td")]
    assert cells[2:5] == ["Sandbox (simulated)key: Sandbox (simulated)", "1× H100 SXM 80GBsbx.h100.1x", "sandbox-eu-1"]
    assert train.one("span", class_="status").text == "running"
    assert re.fullmatch(r"for \d+ s", train.one("span", class_="since").text)
    assert cells[6] == "$2.49/h"
    assert not train.find("span", class_="chip-origin")

    found = row_of(doc, "by-hand")
    assert found.one("span", class_="chip-origin").text == "discovered: not launched by ComputeHub"
    assert found.one("span", class_="status").text == "running"

    failed = row_of(doc, "no-room")
    assert failed.one("span", class_="status").text == "failed"
    assert "the provider has no capacity for this offer right now" in failed.one("div", class_="error-text").text


async def test_actions_not_possible_are_greyed_out_with_the_reason(as_alice, sessions, keyring, http, cloud, clock, alice):
    instance_id = await deploy(sessions, keyring, http, alice)
    clock.advance(21)
    await sync_binding(sessions, keyring, http, alice.binding_id)
    await perform(sessions, keyring, http, alice.user_id, instance_id, "stop")
    clock.advance(6)
    await sync_binding(sessions, keyring, http, alice.binding_id)

    row = row_of(await as_alice.page("/console"), "gpu-1")

    greyed = {span.one("button").text: span.get("title") for span in row.find_all("span", class_="op-disabled")}
    assert greyed == {"Stop": "not possible while the instance is stopped",
                      "Reboot": "not possible while the instance is stopped"}
    assert row.one("button", data_op="start").get("disabled") is None
    assert row.one("a", data_op="delete").get("href") == f"/console/instances/{instance_id}/confirm/delete"


async def test_lambda_rows_grey_out_stop_and_start(as_alice, sessions, alice):
    async with sessions() as session, session.begin():
        now = utcnow()
        session.add(Instance(workspace_id=await personal_workspace_id(session, alice.user_id),
                             user_id=alice.user_id, binding_id=None, provider="lambdalabs", client_token="t" * 32,
                             name="lambda-box", instance_type="gpu_1x_h100_sxm5", region="us-east-1",
                             status="running", origin="discovered", created_at=now, updated_at=now))

    row = row_of(await as_alice.page("/console"), "lambda-box")

    reasons = {span.one("button").text: span.get("title") for span in row.find_all("span", class_="op-disabled")}
    assert reasons["Stop"] == reasons["Start"] == "Lambda instances cannot be stopped, only terminated; filesystems persist"


async def test_the_instance_page_shows_details_history_and_confirms_a_stop(
        as_alice, sessions, keyring, http, cloud, clock, alice):
    instance_id = await deploy(sessions, keyring, http, alice)
    clock.advance(21)
    await sync_binding(sessions, keyring, http, alice.binding_id)

    doc = await as_alice.page(f"/console/instances/{instance_id}")
    assert "gpu-1" in doc.one("h1").text
    history = [[td.text for td in tr.find_all("td")][:3] for tr in doc.one("table", data_history="").find_all("tr")[1:]]
    assert [h[1] for h in history] == ["running", "provisioning", "launching"]
    assert history[-1][2] == "launch requested"
    assert all(h[0].endswith(" UTC") for h in history)

    # Stop without the confirmation step only leads to the confirmation.
    response = await as_alice.post(f"/console/instances/{instance_id}/actions/stop", follow_redirects=False)
    assert response.headers["location"] == f"/console/instances/{instance_id}/confirm/stop"
    assert cloud.get_instance(alice.api_key, (await reload(sessions, instance_id)).provider_instance_id)["status"] == "running"

    confirm = await as_alice.page(f"/console/instances/{instance_id}/confirm/stop")
    assert confirm.one("h1").text == "Stop gpu-1?"
    assert confirm.one("input", name="confirm").get("value") == "yes"

    response = await as_alice.post(f"/console/instances/{instance_id}/actions/stop", {"confirm": "yes"})
    doc = parse_html(response.text)
    assert response.url.path == f"/console/instances/{instance_id}"
    assert doc.one("p", class_="alert-ok").text == "Stop requested: the provider is stopping it."
    assert (await reload(sessions, instance_id)).status == "stopping"
    assert "stop requested" in [tr.find_all("td")[2].text for tr in doc.one("table", data_history="").find_all("tr")[1:]]


async def reload(sessions, instance_id: int) -> Instance:
    async with sessions() as session:
        return await session.get(Instance, instance_id)


async def test_a_refused_action_shows_the_message_on_the_page(as_alice, sessions, keyring, http, cloud, clock, alice):
    instance_id = await deploy(sessions, keyring, http, alice)
    clock.advance(21)
    await sync_binding(sessions, keyring, http, alice.binding_id)
    cloud.set_faults(alice.api_key, rate_limited=True)

    response = await as_alice.post(f"/console/instances/{instance_id}/actions/reboot")

    assert response.status_code == 400
    assert parse_html(response.text).one("p", class_="alert-error").text == (
        "the provider is rate limiting requests; try again in a minute")


# ---- launch from an offer -------------------------------------------------------------------

async def test_the_price_list_offers_launch_for_providers_with_an_adapter(as_alice, sessions, cloud):
    offer = await sandbox_offer(sessions)
    await seed(sessions, [make_offer("azure", "H100 NVL", "6.98", memory=94, region="eastus")])

    doc = parse_html((await as_alice.get("/?per_page=100")).text)

    links = {tr.get("data-provider"): tr.find("a", class_="launch-link") for tr in doc.find_all("tr", class_="offer")}
    assert links["azure"] is None  # a price-only source (a scraper)
    sandbox_rows = doc.find_all("tr", data_provider="sandbox")
    hrefs = {tr.one("a", class_="launch-link").get("href") for tr in sandbox_rows}
    assert f"/console/launch?offer={offer.id}" in hrefs


async def test_launch_from_an_offer(as_alice, sessions, keyring, cloud, alice, bob):
    offer = await sandbox_offer(sessions)

    doc = await as_alice.page(f"/console/launch?offer={offer.id}")
    options = doc.one("select", name="binding_id").find_all("option")
    assert [(o.get("value"), o.text) for o in options] == [
        (str(alice.binding_id), f"Sandbox (simulated) (••••{alice.api_key[-4:]})")]  # never Bob's key
    assert doc.one("input", name="name").get("value").startswith("h100-sxm-")

    response = await as_alice.post("/console/launch", {
        "offer": offer.id, "binding_id": alice.binding_id, "name": "train-1", "image": "", "disk_gb": "200",
        "ssh_public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA alice@laptop"})

    assert response.url.path.startswith("/console/instances/")
    doc = parse_html(response.text)
    assert "Launch requested" in doc.one("p", class_="alert-ok").text
    [remote] = cloud.list_instances(alice.api_key)
    assert (remote["name"], remote["instance_type"], remote["region"], remote["disk_gb"]) == (
        "train-1", "sbx.h100.1x", "sandbox-eu-1", 200)
    async with sessions() as session:
        row = (await session.execute(select(Instance))).scalar_one()
    assert (row.offer_price_per_hour, row.gpu_slug, row.status) == (offer.price_per_hour, "h100-sxm", "provisioning")


async def test_invalid_launch_input_keeps_what_was_typed(as_alice, sessions, cloud, alice):
    offer = await sandbox_offer(sessions)
    typed = {"offer": offer.id, "binding_id": alice.binding_id, "name": "my box!", "image": "my-image:1",
             "disk_gb": "5", "ssh_public_key": "ssh-ed25519 AAAAC3Nz me@home"}

    response = await as_alice.post("/console/launch", typed)

    assert response.status_code == 400
    doc = parse_html(response.text)
    assert doc.one("p", class_="alert-error").text == (
        "the name must be 1-63 letters, digits, dots, dashes or underscores")
    assert doc.one("input", name="name").get("value") == "my box!"
    assert doc.one("input", name="image").get("value") == "my-image:1"
    assert doc.one("input", name="disk_gb").get("value") == "5"
    assert doc.one("textarea", name="ssh_public_key").text == "ssh-ed25519 AAAAC3Nz me@home"

    response = await as_alice.post("/console/launch", {**typed, "name": "box-1"})
    assert parse_html(response.text).one("p", class_="alert-error").text == "disk size must be between 10 and 65536 GB"
    assert cloud.list_instances(alice.api_key) == []


async def test_a_launch_refused_by_the_provider_shows_why(as_alice, sessions, cloud, alice):
    offer = await sandbox_offer(sessions)
    cloud.set_faults(alice.api_key, no_capacity_types={"sbx.h100.1x"})

    response = await as_alice.post("/console/launch", {"offer": offer.id, "binding_id": alice.binding_id,
                                                       "name": "box-1"})

    assert response.status_code == 400
    assert parse_html(response.text).one("p", class_="alert-error").text == (
        "the provider has no capacity for this offer right now; try another region or offer")
    row = row_of(await as_alice.page("/console"), "box-1")
    assert row.one("span", class_="status").text == "failed"


async def test_offers_that_cannot_be_launched_are_not_found(as_alice, sessions, cloud):
    await seed(sessions, [make_offer("azure", "H100 NVL", "6.98", memory=94, region="eastus")])
    async with sessions() as session:
        azure = (await session.execute(select(Offer))).scalar_one()
    assert (await as_alice.get(f"/console/launch?offer={azure.id}")).status_code == 404
    assert (await as_alice.get("/console/launch?offer=999999")).status_code == 404


async def test_without_a_key_the_launch_page_says_how_to_add_one(as_bob, sessions, cloud, bob):
    offer = await sandbox_offer(sessions)
    from app.console import bindings

    async with sessions() as session, session.begin():
        await bindings.remove_binding(session, bob.user_id, bob.binding_id)

    doc = await as_bob.page(f"/console/launch?offer={offer.id}")
    assert "You have no API key for Sandbox (simulated) yet" in doc.one("div", class_="empty-state").text
    assert doc.find("form", action="/console/launch") is None


# ---- keeping the page current -------------------------------------------------------------------

async def test_the_poll_syncs_and_reports_a_change(as_alice, sessions, keyring, http, cloud, clock, alice):
    await deploy(sessions, keyring, http, alice)
    doc = await as_alice.page("/console")
    root = doc.one("div", class_="console")
    assert root.get("data-console-poll") == "on"
    before = root.get("data-fingerprint")

    unchanged = (await as_alice.post("/console/poll")).json()
    assert unchanged == {"fingerprint": before, "polling": True}

    clock.advance(21)  # booted at the provider; only a sync can tell
    async with sessions() as session, session.begin():  # the last answer is older than the poll's minimum
        await session.execute(update(Instance).values(last_synced_at=utcnow() - timedelta(seconds=10)))
    changed = (await as_alice.post("/console/poll")).json()
    assert changed["fingerprint"] != before and changed["polling"] is False

    doc = await as_alice.page("/console")
    assert doc.one("div", class_="console").get("data-console-poll") == "off"
    assert row_of(doc, "gpu-1").one("span", class_="status").text == "running"


async def test_sync_now_finds_instances_started_elsewhere(as_alice, sessions, cloud, alice):
    cloud.create_instance(alice.api_key, {"name": "by-hand", "instance_type": "sbx.h100.1x", "region": "sandbox-eu-1"})
    assert (await as_alice.page("/console")).find("tr", data_name="by-hand") is None

    response = await as_alice.post("/console/sync")

    doc = parse_html(response.text)
    assert response.url.path == "/console"
    assert doc.one("p", class_="alert-ok").text == "Asked 1 provider key for the latest state."
    assert row_of(doc, "by-hand").one("span", class_="chip-origin").text == "discovered: not launched by ComputeHub"


async def test_sync_now_on_a_deployment_page_returns_there(as_alice, sessions, keyring, http, cloud, clock, alice):
    instance_id = await deploy(sessions, keyring, http, alice)
    clock.advance(21)

    response = await as_alice.post("/console/sync", {"next": f"/console/instances/{instance_id}"})

    assert response.url.path == f"/console/instances/{instance_id}"
    doc = parse_html(response.text)
    assert doc.one("p", class_="alert-ok").text == "Asked 1 provider key for the latest state."
    assert doc.one("div", class_="page-head").one("span", class_="status").text == "running"
    # Only console pages: anything else goes back to the list.
    response = await as_alice.post("/console/sync", {"next": "https://elsewhere.example/"})
    assert response.url.path == "/console"


async def test_a_launch_under_the_name_of_a_live_instance_is_refused(as_alice, sessions, cloud, alice):
    offer = await sandbox_offer(sessions)
    form = {"offer": offer.id, "binding_id": alice.binding_id, "name": "train-1"}
    assert (await as_alice.post("/console/launch", form)).url.path.startswith("/console/instances/")

    again = await as_alice.post("/console/launch", {**form, "name": "TRAIN-1"})

    assert again.status_code == 400
    doc = parse_html(again.text)
    assert doc.one("p", class_="alert-error").text == (
        "you already have an instance named 'TRAIN-1'; choose another name")
    assert doc.one("input", name="name").get("value") == "TRAIN-1"
    assert len(cloud.list_instances(alice.api_key)) == 1

    # once that instance is gone, its name is free again
    async with sessions() as session, session.begin():
        await session.execute(update(Instance).values(status="terminated", terminated_at=utcnow()))
    assert (await as_alice.post("/console/launch", form)).url.path.startswith("/console/instances/")
