"""Batch actions: the confirmation lists exactly what happens per item; execution runs each item
on its own and reports a partial failure next to the successes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.console import batch
from app.console.errors import ConsoleError, NotFoundForUser
from app.console.instances import LaunchSpec, launch, perform
from app.console.sync import sync_binding
from app.db.models import Instance
from app.workspaces import personal_workspace_id
from tests.console.conftest import make_account
from tests.web.html import parse_html


async def deploy(sessions, keyring, http, account, name: str) -> int:
    row = await launch(sessions, keyring, http, account.user_id, LaunchSpec(
        binding_id=account.binding_id, name=name, instance_type="sbx.rtx4090.1x", region="sandbox-eu-1"))
    return row.id


async def fleet(sessions, keyring, http, clock, account) -> tuple[int, int]:
    """gpu-1 running, gpu-2 stopped."""
    first = await deploy(sessions, keyring, http, account, "gpu-1")
    second = await deploy(sessions, keyring, http, account, "gpu-2")
    clock.advance(21)
    await sync_binding(sessions, keyring, http, account.binding_id)
    await perform(sessions, keyring, http, account.user_id, second, "stop")
    clock.advance(6)
    await sync_binding(sessions, keyring, http, account.binding_id)
    return first, second


async def statuses(sessions) -> dict[str, str]:
    async with sessions() as session:
        return {r.name: r.status for r in (await session.execute(select(Instance))).scalars()}


async def test_the_plan_says_what_happens_to_each_item(sessions, keyring, http, cloud, clock, alice):
    first, second = await fleet(sessions, keyring, http, clock, alice)
    async with sessions() as session:
        stop = await batch.plan(session, alice.user_id, "stop", [first, second])
        delete = await batch.plan(session, alice.user_id, "delete", [second, first])
        start = await batch.plan(session, alice.user_id, "start", [first, second])
    assert [i.description for i in stop] == ["stop gpu-1 (sandbox, running)", "skip gpu-2: already stopped"]
    assert [i.description for i in delete] == ["delete gpu-2 (sandbox, stopped)", "delete gpu-1 (sandbox, running)"]
    assert [i.description for i in start] == ["skip gpu-1: already running", "start gpu-2 (sandbox, stopped)"]


async def test_one_foreign_id_makes_the_whole_batch_not_found(sessions, keyring, http, cloud, clock, alice, bob):
    mine = await deploy(sessions, keyring, http, alice, "mine")
    theirs = await deploy(sessions, keyring, http, bob, "theirs")
    async with sessions() as session:
        with pytest.raises(NotFoundForUser):
            await batch.plan(session, alice.user_id, "delete", [mine, theirs])
        with pytest.raises(NotFoundForUser):
            await batch.plan(session, alice.user_id, "delete", [mine, 987654])
    with pytest.raises(NotFoundForUser):
        await batch.execute(sessions, keyring, http, alice.user_id, "delete", [mine, theirs])
    assert await statuses(sessions) == {"mine": "provisioning", "theirs": "provisioning"}


def test_bad_selections_are_refused_with_a_message():
    with pytest.raises(ConsoleError, match="select at least one"):
        batch.parse_ids([])
    with pytest.raises(ConsoleError, match="not a deployment"):
        batch.parse_ids(["1", "x"])
    assert batch.parse_ids(["3", "1", "3"]) == [3, 1]


async def test_a_partial_failure_is_reported_and_does_not_stop_the_rest(sessions, keyring, http, cloud, clock, alice):
    healthy = await deploy(sessions, keyring, http, alice, "gpu-1")
    # A second key of Alice's whose provider account is rate limiting every call.
    other = await make_account(sessions, keyring, "alice2@example.com")
    async with sessions() as session, session.begin():
        row = await session.get(Instance, await deploy(sessions, keyring, http, other, "gpu-2"))
        row.user_id = alice.user_id
        row.workspace_id = await personal_workspace_id(session, alice.user_id)
        limited = row.id
    third = await deploy(sessions, keyring, http, alice, "gpu-3")
    cloud.set_faults(other.api_key, rate_limited=True)

    results = await batch.execute(sessions, keyring, http, alice.user_id, "delete", [healthy, limited, third])

    assert [(r.name, r.outcome) for r in results] == [("gpu-1", "done"), ("gpu-2", "failed"), ("gpu-3", "done")]
    assert results[1].message == "the provider is rate limiting requests; try again in a minute"
    assert await statuses(sessions) == {"gpu-1": "terminating", "gpu-2": "provisioning", "gpu-3": "terminating"}


# ---- the pages ---------------------------------------------------------------------------

async def test_batch_delete_through_the_confirmation_page(as_alice, sessions, keyring, http, cloud, clock, alice):
    first, second = await fleet(sessions, keyring, http, clock, alice)

    doc = await as_alice.page(f"/console/batch?op=stop&id={first}&id={second}")
    assert [li.text for li in doc.one("ul", data_plan="").find_all("li")] == [
        "stop gpu-1 (sandbox, running)", "skip gpu-2: already stopped"]
    assert "Stop 1 of 2 selected deployments?" in doc.one("h1").text

    doc = await as_alice.page(f"/console/batch?op=delete&id={first}&id={second}")
    form = doc.one("form", action="/console/batch")
    assert [(i.get("name"), i.get("value")) for i in form.find_all("input", type="hidden")][1:] == [
        ("op", "delete"), ("id", str(first)), ("id", str(second))]
    # Nothing has happened yet.
    assert await statuses(sessions) == {"gpu-1": "running", "gpu-2": "stopped"}

    response = await as_alice.post("/console/batch", [("op", "delete"), ("id", str(first)), ("id", str(second))])
    assert response.status_code == 200
    doc = parse_html(response.text)
    outcomes = [(li.get("data-outcome"), li.text) for li in doc.one("ul", data_results="").find_all("li")]
    assert outcomes == [("done", "gpu-1: done · delete requested; now terminating"),
                        ("done", "gpu-2: done · delete requested; now terminating")]
    assert await statuses(sessions) == {"gpu-1": "terminating", "gpu-2": "terminating"}


async def test_a_partial_failure_shows_on_the_result_page(as_alice, sessions, keyring, http, cloud, clock, alice):
    first = await deploy(sessions, keyring, http, alice, "gpu-1")
    clock.advance(21)
    await sync_binding(sessions, keyring, http, alice.binding_id)
    cloud.set_faults(alice.api_key, rate_limited=True)

    response = await as_alice.post("/console/batch", [("op", "stop"), ("id", str(first))])

    doc = parse_html(response.text)
    assert "1 of 1 did not work" in doc.one("p", class_="alert-error").text
    assert doc.one("li", data_outcome="failed").text == (
        "gpu-1: failed · the provider is rate limiting requests; try again in a minute")


async def test_a_batch_with_a_foreign_id_is_a_404_page(as_alice, sessions, keyring, http, cloud, alice, bob):
    mine = await deploy(sessions, keyring, http, alice, "mine")
    theirs = await deploy(sessions, keyring, http, bob, "theirs")
    assert (await as_alice.get(f"/console/batch?op=delete&id={mine}&id={theirs}")).status_code == 404
    response = await as_alice.post("/console/batch", [("op", "delete"), ("id", str(mine)), ("id", str(theirs))])
    assert response.status_code == 404
    assert "theirs" not in response.text
    assert await statuses(sessions) == {"mine": "provisioning", "theirs": "provisioning"}
