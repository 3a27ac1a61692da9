"""``computehub worker`` without its clock, for bench_repair: it runs the jobs the benchmark queued
and none that a periodic fan-out (a binding sync every 30 s, say) would add in the middle of a pass.

    python -m tests.benchmarks.repair_worker CONCURRENCY
"""

from __future__ import annotations

import asyncio
import sys

from app.db.engine import get_engine, session_factory
from app.jobs.registry import job_app
from app.jobs.runner import run_worker
from app.settings import get_settings


def main() -> None:
    job_app.periodic_registry.periodic_tasks = {}
    settings = get_settings()
    sessions = session_factory(get_engine(settings.database.url))
    asyncio.run(run_worker(settings, sessions, concurrency=int(sys.argv[1]), name="bench"))


if __name__ == "__main__":
    main()
