"""The console as issue 11 item 11 asks: running and stopped counted apart (the list and the
overview), durations rendered from the state's start time and kept current by durations.js, and a
copyable ``ssh`` command for every running deployment."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select

from app.console.instances import perform
from app.console.sync import sync_binding
from app.db.models import Instance, InstanceEvent
from tests.console.test_pages import deploy, row_of


async def two_running_one_stopped(sessions, keyring, http, clock, account) -> dict[str, int]:
    ids = {name: await deploy(sessions, keyring, http, account, name) for name in ("run-a", "run-b", "halt-c")}
    clock.advance(21)
    await sync_binding(sessions, keyring, http, account.binding_id)
    await perform(sessions, keyring, http, account.user_id, ids["halt-c"], "stop")
    clock.advance(6)
    await sync_binding(sessions, keyring, http, account.binding_id)
    return ids


async def test_running_and_stopped_are_counted_apart(as_alice, sessions, keyring, http, cloud, clock, alice):
    await two_running_one_stopped(sessions, keyring, http, clock, alice)

    overview = await as_alice.page("/console/overview")
    cards = {key: overview.one(class_="stat-card", data_card=key) for key in ("running", "stopped")}
    assert {k: c.get("data-count") for k, c in cards.items()} == {"running": "2", "stopped": "1"}
    assert cards["running"].one(class_="stat-label").text == "Running"
    assert cards["running"].one(class_="stat-value").text == "2"
    assert cards["stopped"].one(class_="stat-value").text == "1"
    assert "Active deployments" not in overview.text

    listing = await as_alice.page("/console")
    counts = {span.get("data-state-count"): span.text for span in listing.find_all("span", class_="state-count")}
    assert counts == {"running": "2 running", "stopped": "1 stopped"}


async def test_durations_carry_the_state_start_and_load_the_script(as_alice, sessions, keyring, http, cloud, clock, alice):
    ids = await two_running_one_stopped(sessions, keyring, http, clock, alice)
    async with sessions() as session:
        stopped_at = (await session.execute(
            select(InstanceEvent.at).where(InstanceEvent.instance_id == ids["halt-c"], InstanceEvent.status == "stopped")
        )).scalar_one()

    for url in ("/console", f"/console/instances/{ids['halt-c']}"):
        response = await as_alice.get(url)
        doc = await as_alice.page(url)
        node = (row_of(doc, "halt-c") if url == "/console" else doc.one(class_="page-head")).one("span", class_="since")
        time = node.one("time")
        started = datetime.fromisoformat(time.get("data-started-at"))
        assert started.utcoffset().total_seconds() == 0  # aware UTC, as the script parses it
        assert abs((started - stopped_at).total_seconds()) < 0.001
        assert time.get("datetime") == time.get("data-started-at")
        assert datetime.fromisoformat(time.get("data-rendered-at")) >= started
        assert re.fullmatch(r"for \d+ s", node.text)  # rendered on the server, readable without JavaScript
        scripts = [s.get("src") for s in doc.find_all("script")]
        assert any(re.fullmatch(r"/static/durations\.[0-9a-f]{12}\.js", src or "") for src in scripts), scripts
        assert "<script>" not in response.text  # nothing inline: the CSP allows 'self' only

    script = await as_alice.get(next(s for s in scripts if "durations" in s))
    assert script.status_code == 200 and "data-started-at" in script.text


async def test_a_running_sandbox_deployment_has_its_ssh_command(as_alice, sessions, keyring, http, cloud, clock, alice):
    ids = await two_running_one_stopped(sessions, keyring, http, clock, alice)
    async with sessions() as session:
        ip = (await session.get(Instance, ids["run-a"])).public_ip
    assert ip == cloud.get_instance(alice.api_key, (await _row(sessions, ids["run-a"])).provider_instance_id)["public_ip"]

    listing = await as_alice.page("/console")
    command = row_of(listing, "run-a").one("code", data_ssh_command="")
    assert command.text == f"ssh -p 22 root@{ip}"
    copy = row_of(listing, "run-a").one("button", data_copy_ssh="")
    assert copy.get("hidden") is not None  # shown by console.js, which also does the copying
    assert row_of(listing, "halt-c").find("code", data_ssh_command="") is None  # stopped: nothing to connect to

    detail = await as_alice.page(f"/console/instances/{ids['run-a']}")
    assert detail.one("code", data_ssh_command="").text == f"ssh -p 22 root@{ip}"
    stopped = await as_alice.page(f"/console/instances/{ids['halt-c']}")
    assert stopped.find("code", data_ssh_command="") is None and "while it runs" in stopped.text


async def _row(sessions, instance_id: int) -> Instance:
    async with sessions() as session:
        return await session.get(Instance, instance_id)
