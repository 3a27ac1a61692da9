"""Crash honesty with real processes: a web process SIGKILLed while the provider answers a launch
it has already carried out, and a worker SIGKILLed in the middle of the sync that finishes it.

The sandbox fault ``latency_after_create_seconds`` holds the answer after the instance is stored,
so the kill lands exactly in the window where the provider knows the instance and the app does not.
After restarting, the reconciler must adopt it (never "the launch never reached the provider"),
with no second instance at the provider and one launch notification.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import httpx
import psycopg
import pytest
from sqlalchemy import select

from app.db.models import Instance, InstanceEvent, OutboxMessage
from tests.conftest import pg_dsn
from tests.support.live import Browser, make_account, sandbox_cloud, sandbox_offer_ids

pytestmark = pytest.mark.chaos
FAST = {"COMPUTEHUB_SANDBOX_TIME_SCALE": "0.05"}  # a boot takes 1 s


def wait_for(predicate, timeout: float, what: str, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def launch_in_background(browser: Browser, offer_id: int, binding_id: int, name: str) -> threading.Thread:
    """The launch form's POST, left hanging in the killed web process."""
    def post() -> None:
        try:
            browser.post("/console/launch", {"offer": offer_id, "binding_id": binding_id, "name": name})
        except httpx.HTTPError:
            pass  # the server died under it

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    return thread


async def the_row(sessions) -> Instance:
    async with sessions() as session:
        return (await session.execute(select(Instance))).scalar_one()


async def launch_notifications(sessions, instance_name: str) -> list[dict]:
    """Every state-change notification queued for a launch (the change out of ``launching``)."""
    import json

    async with sessions() as session:
        rows = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.event_type == "deployment_state"))).scalars().all()
    items = []
    for row in rows:
        data = json.loads(row.payload)
        for payload in (data if isinstance(data, list) else [data]):
            context = payload["context"]
            if context["instance_name"] == instance_name and context["old_status"] == "launching":
                items.append(context)
    return items


async def kill_web_during_launch(stack, live_sessions, account, offer_id: int, name: str):
    """Start a web process, launch through its console, SIGKILL it once the sandbox stored the
    instance (the answer still held back), and age the intent past the launch grace."""
    cloud = sandbox_cloud(stack.database_url)
    base = stack.start_web()
    port = int(base.rsplit(":", 1)[1])
    cloud.set_faults(account.api_key, latency_after_create_seconds=60)
    browser = Browser(base, account.email)
    thread = launch_in_background(browser, offer_id, account.binding_id, name)
    [remote] = wait_for(lambda: cloud.list_instances(account.api_key), 30, "the sandbox to create the instance")
    row = await the_row(live_sessions)
    assert (row.status, row.provider_instance_id) == ("launching", None)  # the app has no answer yet
    stack.kill_web(port)
    thread.join(timeout=10)
    browser.close()
    cloud.set_faults(account.api_key)
    # The restart comes long after the launch: past the grace after which a launch the provider
    # never saw is failed. This one it did see.
    async with live_sessions() as session, session.begin():
        row = (await session.execute(select(Instance))).scalar_one()
        row.created_at -= timedelta(hours=1)
    return cloud, remote


async def assert_adopted_honestly(live_sessions, cloud, account, remote, name: str) -> None:
    row = await the_row(live_sessions)
    assert (row.origin, row.provider_instance_id, row.status) == ("adopted", remote["id"], "running")
    assert row.last_error is None
    async with live_sessions() as session:
        messages = [e.message for e in (await session.execute(
            select(InstanceEvent).where(InstanceEvent.instance_id == row.id))).scalars()]
    assert "the launch never reached the provider" not in messages
    assert [i["id"] for i in cloud.list_instances(account.api_key)] == [remote["id"]]  # no second instance
    assert len(await launch_notifications(live_sessions, name)) == 1


async def test_a_web_process_killed_after_the_provider_created_the_instance(stack, live_sessions, live_keyring):
    stack.extra_env.update(FAST)
    account = await make_account(live_sessions, live_keyring, "alice@example.com")
    offers = await sandbox_offer_ids(live_sessions)
    cloud, remote = await kill_web_during_launch(stack, live_sessions, account, offers["sbx.rtx4090.1x"], "box-1")

    base = stack.start_web()  # restarted; the sync runs from the console ("Sync now")
    browser = Browser(base, account.email)

    async def synced_running() -> bool:
        browser.post("/console/sync", {"next": "/console"})
        return (await the_row(live_sessions)).status == "running"

    deadline = time.monotonic() + 30
    while not await synced_running():
        assert time.monotonic() < deadline, "the sync never adopted the instance"
        time.sleep(0.3)
    browser.close()
    await assert_adopted_honestly(live_sessions, cloud, account, remote, "box-1")


def sync_jobs(database_url: str, status: str) -> list[tuple[int, int | None]]:
    with psycopg.connect(pg_dsn(database_url), autocommit=True) as conn:
        return conn.execute("SELECT id, worker_id FROM procrastinate_jobs WHERE task_name = 'console:sync_binding' "
                            "AND status = %s", (status,)).fetchall()


async def test_a_worker_killed_in_the_sync_that_adopts_a_launch(stack, live_sessions, live_keyring):
    """The web process dies after the provider created the instance; the worker whose sync would
    adopt it dies in the middle of its provider call; a fresh worker still adopts it, truthfully."""
    stack.extra_env.update(FAST)
    account = await make_account(live_sessions, live_keyring, "bob@example.com")
    offers = await sandbox_offer_ids(live_sessions)
    cloud, remote = await kill_web_during_launch(stack, live_sessions, account, offers["sbx.rtx4090.1x"], "box-2")

    cloud.set_faults(account.api_key, latency_seconds=30)  # every sandbox call hangs: the sync is mid-call
    stack.start_worker("a")
    [(job_id, _)] = wait_for(lambda: sync_jobs(stack.database_url, "doing"), 60, "the worker to start the sync")
    time.sleep(1)
    stack.kill_worker("a")
    assert (await the_row(live_sessions)).status == "launching"
    cloud.set_faults(account.api_key)

    stack.start_worker("b")
    # The dead worker's job is queued again (heartbeat timeout + recovery tick) and runs to the end.
    async def adopted() -> bool:
        return (await the_row(live_sessions)).status == "running"

    deadline = time.monotonic() + 90
    while not await adopted():
        assert time.monotonic() < deadline, (
            f"not adopted after the worker died; worker b says:\n{stack.tail('worker-b')}")
        time.sleep(0.5)
    await assert_adopted_honestly(live_sessions, cloud, account, remote, "box-2")
