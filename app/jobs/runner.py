"""Run a worker: in the web process (the embedded default) or alone (``computehub worker``).

The queue is the app's own database when that is PostgreSQL (procrastinate's tables, created by
the Alembic migrations), else in memory: the embedded default needs neither PostgreSQL nor Redis,
and a restart loses only queued work that the next fan-out queues again (intents and outcomes
live in the app's tables, never only in a job).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.jobs.engine import connector_for, enforce_time_limit, is_postgres
from app.jobs.metrics import record_task_metrics
from app.jobs.maintenance import HEARTBEAT_SECONDS, STALLED_AFTER_SECONDS
from app.jobs.registry import job_app
from app.jobs.resources import CONTEXT_KEY, JobResources
from app.settings import Settings

log = logging.getLogger(__name__)


def use_database(database_url: str, pool_size: int = 10) -> None:
    """Point the process's job app at this database's queue (call once, before opening it)."""
    connector = connector_for(database_url, pool_size)
    job_app.connector = connector
    job_app.job_manager.connector = connector


def worker_options(resources: JobResources, concurrency: int, *, name: str | None = None) -> dict:
    in_memory = not is_postgres(resources.settings.database.url)
    return {
        "concurrency": concurrency,
        "name": name,
        "wait": True,
        # PostgreSQL wakes workers with LISTEN/NOTIFY; the in-memory queue is polled (cheaply).
        "fetch_job_polling_interval": 1.0 if in_memory else 5.0,
        "listen_notify": not in_memory,
        "delete_jobs": "successful",
        "additional_context": {CONTEXT_KEY: resources},
        "worker_middleware": [record_task_metrics, enforce_time_limit],
        "update_heartbeat_interval": HEARTBEAT_SECONDS,
        "stalled_worker_timeout": STALLED_AFTER_SECONDS,
        "install_signal_handlers": False,
    }


async def run_worker(settings: Settings, sessions: async_sessionmaker[AsyncSession], *, concurrency: int = 4,
                     name: str | None = None) -> None:
    """Open the queue and process jobs until cancelled.

    On start the worker's clock queues each fan-out's latest tick (procrastinate's periodic
    deferrer catches up on ticks up to ten minutes old, once across all workers), so a fresh
    ``make run`` polls and syncs at once instead of waiting for the next tick."""
    from app.console.signals import disconnect
    from app.notifications.deployments import install as notify_state_changes

    use_database(settings.database.url, settings.database.pool_size)
    resources = JobResources(settings, sessions)
    # What the sync job and auto-repair see queues notifications (the same subscriber as the web
    # app's, by name, so an embedded worker does not notify twice).
    subscription = notify_state_changes(settings)
    try:
        async with job_app.open_async():
            await job_app.run_worker_async(**worker_options(resources, concurrency, name=name))
    finally:
        disconnect(subscription)
        await resources.close()


class EmbeddedWorker:
    """The worker as a background task of the web process (``make run``)."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession], concurrency: int = 4) -> None:
        self.settings, self.sessions, self.concurrency = settings, sessions, concurrency
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(run_worker(self.settings, self.sessions, concurrency=self.concurrency,
                                                   name="embedded"), name="embedded-worker")
        self.task.add_done_callback(self._report)

    @staticmethod
    def _report(task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("the embedded worker stopped", exc_info=task.exception())

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
