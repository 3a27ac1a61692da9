"""``computehub migrate INSTANCE --to OFFER`` against the real app served by uvicorn, with a job
worker in its own thread running the migration's steps on the same SQLite file, and the sandbox
cloud's timings at zero: the command prints each step until done, ``--no-wait --json`` returns at
once, a cancelled one ends rolled back with exit 1, and bad input is refused with the server's reason."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from sqlalchemy import select

from app.db.engine import make_engine, session_factory
from app.db.models import Instance, Migration, Offer
from app.jobs.registry import job_app
from app.migration import service
from app.migration.jobs import queue_due
from app.settings import Settings
from providers.sandbox import SandboxCloud, Timings
from providers.sandbox import cloud as sandbox_cloud
from tests.cli.test_console_client import Server, mint, run, world  # noqa: F401 - the world fixture
from tests.support.jobs import drain, queue_for


class Worker:
    """The job worker in a thread with its own loop: queue what is due, run it, again."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="migration-worker", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            engine = make_engine(self.database_url)
            sessions = session_factory(engine)
            try:
                with queue_for(self.database_url):
                    async with job_app.open_async():
                        while not self.stop.is_set():
                            await queue_due(sessions)
                            await drain(Settings(), sessions)
                            await asyncio.sleep(0.1)
            finally:
                await engine.dispose()

        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - reported by __exit__
            self.error = exc

    def __enter__(self) -> "Worker":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        assert self.error is None, repr(self.error)


@pytest.fixture
def fast(world, monkeypatch):  # noqa: F811 - the world fixture, made fast
    world.cloud = SandboxCloud(timings=Timings().scaled(0))
    monkeypatch.setattr(sandbox_cloud, "_default_cloud", world.cloud)
    return world


def running(w, name: str) -> Instance:
    token = mint("write")
    w.token = token
    launched = run("instances", "launch", "--url", w.url, "--token", token, "--offer", str(w.offer_id),
                   "--key", str(w.binding_id), "--name", name)
    assert launched.exit_code == 0, launched.output
    w.sync()
    row = w.instance(name)
    assert row.status == "running", row.status
    return row


def offer(w, instance_type: str, region: str) -> int:
    async def work(sessions):
        async with sessions() as session:
            return (await session.execute(select(Offer.id).where(
                Offer.source == "sandbox", Offer.instance_type == instance_type, Offer.region == region,
                Offer.spot.is_(False)))).scalar_one()
    return w.db(work)


def live(w, name: str) -> list[Instance]:
    """The deployments of that name that are not deleted (the old one is, once the migration is done)."""
    async def work(sessions):
        async with sessions() as session:
            return list((await session.execute(select(Instance).where(
                Instance.name == name, Instance.status.not_in(("terminated", "failed"))))).scalars())
    return w.db(work)


def migration(w, migration_id: int) -> Migration:
    async def work(sessions):
        async with sessions() as session:
            return await session.get(Migration, migration_id)
    return w.db(work)


def test_migrate_prints_each_step_until_done(fast):
    with Server(fast.database_url) as server, Worker(fast.database_url):
        fast.url = server.url
        source = running(fast, "trainer")
        target = offer(fast, "sbx.a100.1x", "sandbox-us-1")  # 80 GB >= the H100's 80 GB, one GPU
        result = run("migrate", str(source.id), "--to", str(target), "--rollback-window-hours", "0",
                     "--url", server.url, "--token", fast.token, "--interval", "0.2")
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        assert lines[0].startswith(f"migration ") and "sandbox sbx.a100.1x in sandbox-us-1 ($1.2900/h)" in lines[0]
        printed = [line.split(" #")[0] for line in lines if " #" in line and ": ok" in line]
        for state in ("planned", "launching_target", "waiting_ready", "syncing", "restoring", "verifying",
                      "switching", "cleaning_up"):
            assert state in printed, result.output
        assert lines[-1] == "done"
        migration_id = int(lines[0].split()[1].rstrip(":"))
        row = migration(fast, migration_id)
        assert row.state == "done" and row.source_deleted_at is not None
        by_id = {i.id: i for i in live(fast, "trainer")}  # the name went with the deployment to the new instance
        moved = by_id[row.target_instance_id]
        assert (moved.status, moved.instance_type, moved.region) == ("running", "sbx.a100.1x", "sandbox-us-1")
        assert source.id not in by_id or by_id[source.id].status == "terminating"  # the old one: deleted after the switch


def wait_for_state(w, migration_id: int, state: str, seconds: float = 30) -> Migration:
    for _ in range(int(seconds * 10)):
        row = migration(w, migration_id)
        if row.state == state:
            return row
        threading.Event().wait(0.1)
    raise AssertionError(f"migration {migration_id} is {row.state}, not {state}")


def test_no_wait_json_then_a_launch_that_fails_rolls_back_with_exit_1(fast):
    with Server(fast.database_url) as server:  # no worker yet: the migration waits in "planned"
        fast.url = server.url
        source = running(fast, "trainer")
        fast.cloud.set_faults(fast.api_key, no_capacity_types=frozenset({"sbx.a100.1x"}))
        target = offer(fast, "sbx.a100.1x", "sandbox-us-1")
        started = run("migrate", str(source.id), "--to", str(target), "--no-wait", "--json",
                      "--url", server.url, "--token", fast.token)
        assert started.exit_code == 0, started.output
        body = json.loads(started.stdout)
        assert (body["state"], body["target"]["instance_type"], body["can_roll_back"]) == ("planned", "sbx.a100.1x", True)
        assert migration(fast, body["id"]).state == "planned"

        again = run("migrate", str(source.id), "--to", str(target), "--url", server.url, "--token", fast.token)
        assert again.exit_code == 1 and "already being migrated" in again.output and "Traceback" not in again.output

        with Worker(fast.database_url):
            row = wait_for_state(fast, body["id"], "rolled_back")
            assert "no_capacity" in (row.error or "") or "capacity" in (row.error or ""), row.error
            followed = run("migrate", str(source.id), "--to", str(target), "--url", server.url,
                           "--token", fast.token, "--interval", "0.2")
        assert followed.exit_code == 1, followed.output
        assert "launching_target #" in followed.output and followed.output.splitlines()[-1].startswith("rolled back:")
        assert [(i.id, i.status) for i in live(fast, "trainer")] == [(source.id, "running")]  # it runs on where it was


def test_bad_input_and_a_read_only_token_are_refused(fast):
    with Server(fast.database_url) as server:
        fast.url = server.url
        source = running(fast, "trainer")
        read = mint("read")
        target = str(offer(fast, "sbx.a100.1x", "sandbox-us-1"))
        refused = run("migrate", str(source.id), "--to", target, "--url", server.url, "--token", read)
        assert refused.exit_code == 1 and "read-only" in refused.output
        same = run("migrate", str(source.id), "--to", str(fast.offer_id), "--url", server.url, "--token", fast.token)
        assert same.exit_code == 1 and "already runs on" in same.output, same.output
        missing = run("migrate", "999999", "--to", target, "--url", server.url, "--token", fast.token)
        assert missing.exit_code == 1 and "HTTP 404" in missing.output
        bad_path = run("migrate", str(source.id), "--to", target, "--path", "relative/dir", "--url", server.url,
                       "--token", fast.token)
        assert bad_path.exit_code == 1 and "absolute" in bad_path.output
        no_offer = run("migrate", str(source.id), "--url", server.url, "--token", fast.token)
        assert no_offer.exit_code == 2 and "--to" in no_offer.output
