"""The job engine: procrastinate, on PostgreSQL in production and in memory in the embedded default.

Why procrastinate (docs/architecture.md says more): the same worker, locks, retries and periodic
deferrer run over PostgreSQL with several processes and, for ``make run`` on SQLite, over its
in-memory connector in the web process. SAQ and arq need Redis (or PostgreSQL) even for a demo.

Each domain keeps its tasks in its own ``jobs`` module as a ``procrastinate.Blueprint``; this module
knows none of them (``app/jobs/worker.py`` assembles the app). What it gives the domains:
- ``defer_unique``: defer a unit of work unless the same unit is already waiting (queueing lock)
  and never run it beside itself (lock);
- per-task time limits, enforced by a worker middleware.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import procrastinate
from procrastinate import testing
from procrastinate.exceptions import AlreadyEnqueued

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 300.0
_LIMIT_ATTRIBUTE = "computehub_time_limit"


class TaskTimedOut(Exception):
    """A task ran past its time limit; procrastinate records the job as failed (and retries it if allowed)."""


def time_limit(seconds: float) -> Callable[[procrastinate.tasks.Task], procrastinate.tasks.Task]:
    """Decorate a task (above ``@blueprint.task``) with its own limit instead of the default."""

    def register(task: procrastinate.tasks.Task) -> procrastinate.tasks.Task:
        setattr(task, _LIMIT_ATTRIBUTE, seconds)
        return task

    return register


def timeout_for(app: procrastinate.App, task_name: str) -> float:
    return getattr(app.tasks.get(task_name), _LIMIT_ATTRIBUTE, DEFAULT_TIMEOUT_SECONDS)


async def enforce_time_limit(call_next: Callable[[], Awaitable[Any]], context, worker) -> Any:
    """Worker middleware: every task runs under its limit, so a hung provider call frees its slot."""
    limit = timeout_for(context.app, context.job.task_name)
    try:
        async with asyncio.timeout(limit):
            return await call_next()
    except TimeoutError as exc:
        raise TaskTimedOut(f"{context.job.task_name} ran longer than {limit:g} s") from exc


def is_postgres(database_url: str) -> bool:
    return database_url.startswith(("postgresql", "postgres"))


def connector_for(database_url: str, pool_size: int = 10) -> procrastinate.BaseConnector:
    """PostgreSQL (the queue lives in the app's own database) or the in-memory queue for SQLite."""
    if is_postgres(database_url):
        conninfo = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        return procrastinate.PsycopgConnector(conninfo=conninfo, min_size=1, max_size=max(pool_size, 2))
    return testing.InMemoryConnector()


async def defer_unique(task: procrastinate.tasks.Task, key: str, *, runs_alone_with: str | None = None,
                       **kwargs: Any) -> int | None:
    """Defer one unit of work named ``key``; None when that unit is already waiting to run.

    ``queueing_lock`` keeps at most one waiting job per unit (a fan-out that fires again while the
    previous one is still queued adds nothing); ``lock`` keeps two workers from running it at once.
    ``runs_alone_with`` widens the lock: every job holding the same name runs one at a time (all the
    calls made with one provider key, say, so the key never exceeds its rate limit).
    """
    try:
        return await task.configure(lock=runs_alone_with or key, queueing_lock=key).defer_async(**kwargs)
    except AlreadyEnqueued:
        return None
