"""The job engine's guarantees, on the in-memory queue and on the real PostgreSQL queue:
one waiting job per unit, never two running at once, dead workers' jobs run again, time limits."""

from __future__ import annotations

import dataclasses

import psycopg
import pytest

from app.console.jobs import binding_unit, fan_out_syncs, sync_one_binding
from app.jobs import engine
from app.jobs.engine import defer_unique, timeout_for
from app.jobs.maintenance import retry_stalled_jobs
from app.jobs.registry import DOMAINS, cron_every, job_app
from app.settings import Settings
from app.workspaces import personal_workspace_id
from tests.conftest import pg_dsn
from tests.support.jobs import drain, job_rows, queue_for


def test_every_domain_has_its_fan_out_on_one_clock():
    periodic = {p.task.name: p.cron for p in job_app.periodic_registry.periodic_tasks.values()}
    assert periodic == {
        "prices:fan_out": "* * * * * */30", "prices:refresh_history": "*/10 * * * *",
        "console:fan_out": "* * * * * */30", "repair:fan_out": "* * * * * */5",
        "notifications:deliver": "* * * * * */15", "costs:accrue": "*/1 * * * *",
        "billing:enforce_lapses": "*/10 * * * *", "migration:fan_out": "* * * * * */15",
        "jobs:retry_stalled": "* * * * * */10", "pools:fan_out": "* * * * * */30",
    }
    assert {name.split(":")[0] for name in periodic} == set(DOMAINS)


@pytest.mark.parametrize(("seconds", "cron"), [(5, "* * * * * */5"), (60, "*/1 * * * *"), (900, "*/15 * * * *"),
                                               (3600, "0 */1 * * *"), (21600, "0 */6 * * *")])
def test_intervals_become_cron_lines(seconds, cron):
    assert cron_every(seconds) == cron


@pytest.mark.parametrize("seconds", [45, 7, 5400, 86400 * 2])
def test_an_interval_cron_cannot_keep_is_refused(seconds):
    with pytest.raises(ValueError):
        cron_every(seconds)


async def test_one_waiting_job_per_unit(sessions, database_url):
    with queue_for(database_url) as connector:
        async with job_app.open_async():
            assert await defer_unique(sync_one_binding, binding_unit(7), binding_id=7) is not None
            assert await defer_unique(sync_one_binding, binding_unit(7), binding_id=7) is None
            assert await defer_unique(sync_one_binding, binding_unit(8), binding_id=8) is not None
            rows = job_rows(database_url, connector)
    assert sorted((r["lock"], r["args"]["binding_id"]) for r in rows) == [("binding:7", 7), ("binding:8", 8)]


# Properties of the PostgreSQL queue (the in-memory one serves one process): PostgreSQL only.
postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@postgresql_only
async def test_a_unit_never_runs_twice_at_once_on_postgresql(sessions, database_url):
    """Worker A holds binding 7's sync; a second job for it waits even though worker B is free."""
    with queue_for(database_url):
        async with job_app.open_async():
            manager = job_app.job_manager
            await defer_unique(sync_one_binding, binding_unit(7), binding_id=7)
            worker_a = await manager.register_worker()
            worker_b = await manager.register_worker()
            running = await manager.fetch_job(queues=None, worker_id=worker_a)
            assert running is not None and running.lock == "binding:7"
            # Running, so no longer waiting: the fan-out may queue the next sync of the same unit...
            assert await defer_unique(sync_one_binding, binding_unit(7), binding_id=7) is not None
            await defer_unique(sync_one_binding, binding_unit(8), binding_id=8)
            # ...but worker B is handed binding 8, never binding 7's second job, while A runs it.
            other = await manager.fetch_job(queues=None, worker_id=worker_b)
            assert other is not None and other.lock == "binding:8"
            assert await manager.fetch_job(queues=None, worker_id=worker_b) is None


@postgresql_only
async def test_one_provider_keys_calls_run_one_at_a_time(sessions, database_url):
    """Binding 7's repair checks wait while binding 7's sync runs (the unit the repair fan-out queues)."""
    from app.repair.jobs import check_binding, check_unit

    with queue_for(database_url):
        async with job_app.open_async():
            manager = job_app.job_manager
            await defer_unique(sync_one_binding, binding_unit(7), binding_id=7)
            worker_a, worker_b = await manager.register_worker(), await manager.register_worker()
            assert (await manager.fetch_job(queues=None, worker_id=worker_a)).lock == "binding:7"
            await defer_unique(check_binding, check_unit(7), binding_id=7, runs_alone_with=binding_unit(7))
            await defer_unique(check_binding, check_unit(8), binding_id=8, runs_alone_with=binding_unit(8))
            other = await manager.fetch_job(queues=None, worker_id=worker_b)
            assert other.task_kwargs == {"binding_id": 8}
            assert await manager.fetch_job(queues=None, worker_id=worker_b) is None


@postgresql_only
async def test_a_dead_workers_job_runs_again(sessions, database_url):
    """SIGKILL leaves a job 'doing' under a worker that stops beating; the recovery task requeues it."""
    with queue_for(database_url):
        async with job_app.open_async():
            manager = job_app.job_manager
            await defer_unique(sync_one_binding, binding_unit(7), binding_id=7)
            dead = await manager.register_worker()
            job = await manager.fetch_job(queues=None, worker_id=dead)
            with psycopg.connect(pg_dsn(database_url), autocommit=True) as conn:
                conn.execute("UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour' WHERE id = %s",
                             (dead,))
            await retry_stalled_jobs.defer_async()
            await drain(Settings(), sessions, delete_jobs="never")
            rows = {r["task_name"]: r for r in job_rows(database_url, None)}
            with psycopg.connect(pg_dsn(database_url), autocommit=True) as conn:
                workers = [r[0] for r in conn.execute("SELECT id FROM procrastinate_workers").fetchall()]
    assert job.id is not None
    # Binding 7 does not exist, so its sync is a no-op: what matters is that it ran to the end.
    assert rows["console:sync_binding"]["status"] == "succeeded"
    assert rows["console:sync_binding"]["attempts"] == 2
    assert dead not in workers


@postgresql_only
async def test_a_dead_workers_job_whose_unit_is_queued_again_frees_its_lock(sessions, database_url):
    """The fan-out queued binding 7's next sync while the dead worker's one was running: the dead
    job cannot go back to the queue (one waiting job per unit); it is closed and the waiting one runs."""
    with queue_for(database_url):
        async with job_app.open_async():
            manager = job_app.job_manager
            await defer_unique(sync_one_binding, binding_unit(7), binding_id=7)
            dead = await manager.register_worker()
            job = await manager.fetch_job(queues=None, worker_id=dead)
            assert await defer_unique(sync_one_binding, binding_unit(7), binding_id=7) is not None
            with psycopg.connect(pg_dsn(database_url), autocommit=True) as conn:
                conn.execute("UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour' WHERE id = %s",
                             (dead,))
            await retry_stalled_jobs.defer_async()
            await drain(Settings(), sessions, delete_jobs="never")
            rows = [r for r in job_rows(database_url, None) if r["task_name"] == "console:sync_binding"]
    assert job.id is not None
    # In queue order: the dead worker's job, closed; the waiting one, run to the end.
    assert [(r["status"], r["attempts"]) for r in rows] == [("failed", 1), ("succeeded", 1)]


async def test_a_task_past_its_time_limit_fails_and_frees_its_slot(sessions, database_url, monkeypatch):
    import asyncio

    from app.console import jobs as console_jobs

    started, finished = asyncio.Event(), asyncio.Event()

    async def hangs(*args, **kwargs):
        started.set()
        await asyncio.sleep(30)
        finished.set()

    from app.jobs.metrics import TASK_RUNS

    def runs(outcome):
        return TASK_RUNS.labels("console:sync_binding", outcome)._value.get()

    timed_out_before, succeeded_before = runs("timed_out"), runs("succeeded")
    monkeypatch.setattr(console_jobs, "sync_binding", hangs)
    monkeypatch.setattr(sync_one_binding, engine._LIMIT_ATTRIBUTE, 0.2)
    assert timeout_for(job_app, "console:sync_binding") == 0.2
    with queue_for(database_url) as connector:
        async with job_app.open_async():
            await defer_unique(sync_one_binding, binding_unit(7), binding_id=7)
            await drain(Settings(), sessions, delete_jobs="never")
            rows = job_rows(database_url, connector)
    assert started.is_set() and not finished.is_set()
    # Failed after one attempt and queued for a retry later (the task's retry strategy).
    assert [(r["status"], r["attempts"]) for r in rows] == [("todo", 1)]
    # /metrics counts it per task type and outcome.
    assert (runs("timed_out"), runs("succeeded")) == (timed_out_before + 1, succeeded_before)


async def test_the_sync_fan_out_queues_every_active_binding(sessions, database_url):
    from app.db.models import ProviderBinding
    from app.db.types import utcnow
    from tests.auth.support import make_user

    user, _ = await make_user(sessions, "jobs@example.com")
    async with sessions() as session, session.begin():
        workspace_id = await personal_workspace_id(session, user.id)

        def binding(status):
            return ProviderBinding(workspace_id=workspace_id, user_id=user.id, provider="sandbox", label=status, key_ciphertext="x", key_hint="x",
                                   status=status, created_at=utcnow())
        active, disabled, invalid = binding("active"), binding("disabled"), binding("invalid")
        session.add_all([active, disabled, invalid])
    with queue_for(database_url) as connector:
        async with job_app.open_async():
            await fan_out_syncs.defer_async()
            await drain(dataclasses.replace(Settings()), sessions, delete_jobs="never")
            rows = job_rows(database_url, connector)
    synced = sorted(r["args"]["binding_id"] for r in rows if r["task_name"] == "console:sync_binding")
    assert synced == [active.id] and disabled.id not in synced
