"""Job metrics for /metrics: runs, failures and latency per task type (recorded by a worker
middleware in whichever process runs the task), and the queue's depth (read at scrape time).

Several processes on one host share them through prometheus_client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``), which Litestar's PrometheusController reads.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import Counter as MetricCounter, Gauge, Histogram
from sqlalchemy import text

from app.jobs.engine import TaskTimedOut

TASK_RUNS = MetricCounter("computehub_task_runs_total", "Task runs by task type and outcome", ["task", "outcome"])
TASK_SECONDS = Histogram("computehub_task_duration_seconds", "How long a task ran", ["task"],
                         buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
QUEUE_JOBS = Gauge("computehub_queue_jobs", "Jobs in the queue by task type and status", ["task", "status"],
                   multiprocess_mode="mostrecent")
QUEUE_STATUSES = ("todo", "doing", "failed")


async def record_task_metrics(call_next: Callable[[], Awaitable[Any]], context, worker) -> Any:
    """Worker middleware (outside the time limit, so a timeout is counted as one)."""
    task = context.job.task_name
    started = time.perf_counter()
    outcome = "failed"
    try:
        result = await call_next()
        outcome = "succeeded"
        return result
    except TaskTimedOut:
        outcome = "timed_out"
        raise
    finally:
        TASK_RUNS.labels(task, outcome).inc()
        TASK_SECONDS.labels(task).observe(time.perf_counter() - started)


async def queue_counts(sessions, postgres: bool) -> dict[tuple[str, str], int]:
    """(task, status) -> jobs: from procrastinate's table on PostgreSQL, else this process's in-memory queue."""
    if postgres:
        async with sessions() as session:
            rows = await session.execute(text(
                "SELECT task_name, status::text, count(*) FROM procrastinate_jobs GROUP BY task_name, status"))
            return {(task, status): count for task, status, count in rows.all()}
    from app.jobs.registry import job_app

    jobs = getattr(job_app.connector, "jobs", {})
    return dict(Counter((job["task_name"], job["status"]) for job in jobs.values()))


async def refresh_queue_depth(sessions, postgres: bool) -> None:
    """Set the depth gauge from the queue itself, at scrape time."""
    counts = queue_counts_by_status(await queue_counts(sessions, postgres))
    for labels in set(QUEUE_JOBS._metrics) - counts.keys():  # a task with no jobs left reads 0
        QUEUE_JOBS.labels(*labels).set(0)
    for (task, status), count in counts.items():
        QUEUE_JOBS.labels(task, status).set(count)


def queue_counts_by_status(counts: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    return {key: value for key, value in counts.items() if key[1] in QUEUE_STATUSES}
