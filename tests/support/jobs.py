"""Run the real job app against a queue of the test's choosing, until nothing is left to run."""

from __future__ import annotations

import contextlib
from datetime import datetime, timezone
from collections.abc import Iterator

import psycopg
from procrastinate import testing

from app.jobs.engine import connector_for, is_postgres
from app.jobs.registry import job_app
from app.jobs.resources import JobResources
from app.jobs.runner import worker_options
from tests.conftest import pg_dsn


@contextlib.contextmanager
def queue_for(database_url: str) -> Iterator:
    """The database's own queue on PostgreSQL (emptied first), else a fresh in-memory one."""
    if is_postgres(database_url):
        with psycopg.connect(pg_dsn(database_url), autocommit=True) as conn:
            conn.execute("TRUNCATE procrastinate_jobs, procrastinate_workers, procrastinate_events, "
                         "procrastinate_periodic_defers RESTART IDENTITY CASCADE")
        connector = connector_for(database_url)
    else:
        connector = testing.InMemoryConnector()
    with job_app.replace_connector(connector):
        yield connector


async def due_jobs() -> int:
    now = datetime.now(timezone.utc)
    return sum(1 for job in await job_app.job_manager.list_jobs_async(status="todo")
               if job.scheduled_at is None or job.scheduled_at <= now)


async def drain(settings, sessions, *, concurrency: int = 2, rounds: int = 20, **overrides) -> None:
    """Run workers until no job is due now (a worker with ``wait=False`` stops at the first empty
    fetch, possibly before the jobs its own tasks queued)."""
    resources = JobResources(settings, sessions)
    options = {**worker_options(resources, concurrency), "wait": False, "listen_notify": False,
               "fetch_job_polling_interval": 0.05, **overrides}
    # The worker's clock would also queue every fan-out's latest tick: a test queues what it means to run.
    periodic, job_app.periodic_registry.periodic_tasks = job_app.periodic_registry.periodic_tasks, {}
    try:
        for _ in range(rounds):
            await job_app.run_worker_async(**options)
            if not await due_jobs():
                return
        raise AssertionError(f"jobs were still due after {rounds} worker runs")
    finally:
        job_app.periodic_registry.periodic_tasks = periodic
        await resources.close()


def job_rows(database_url: str, connector) -> list[dict]:
    """Every job the queue holds: task, status, attempts, lock."""
    if is_postgres(database_url):
        with psycopg.connect(pg_dsn(database_url), autocommit=True) as conn:
            cursor = conn.execute("SELECT task_name, status::text, attempts, lock, args FROM procrastinate_jobs ORDER BY id")
            return [dict(zip(("task_name", "status", "attempts", "lock", "args"), row)) for row in cursor.fetchall()]
    return [{"task_name": j["task_name"], "status": j["status"], "attempts": j["attempts"], "lock": j["lock"],
             "args": j["args"]} for j in connector.jobs.values()]
