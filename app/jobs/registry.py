"""The one procrastinate app of a process: every domain's tasks and their periodic fan-outs.

This is a composition root (like ``app/server.py`` for routes): it imports the domains' ``jobs``
modules; they import only ``app.jobs.engine`` and ``app.jobs.resources``. Task names are
``<domain>:<task>``, e.g. ``console:sync_binding``.

The app starts on an in-memory queue; ``app/jobs/runner.py`` points it at PostgreSQL when the
database is PostgreSQL (tests swap it with ``job_app.replace_connector``).
"""

from __future__ import annotations

import importlib

import procrastinate
from procrastinate import testing

DOMAINS = {
    "prices": "app.services.jobs",
    "console": "app.console.jobs",
    "repair": "app.repair.jobs",
    "notifications": "app.notifications.jobs",
    "costs": "app.costs.jobs",
    "billing": "app.billing.jobs",
    "migration": "app.migration.jobs",
    "pools": "app.pools.jobs",
    "jobs": "app.jobs.maintenance",
}


def cron_every(seconds: int) -> str:
    """A cron line (procrastinate's 6th column is seconds) for an interval that divides a minute, an hour or a day."""
    if seconds < 60 and 60 % seconds == 0:
        return f"* * * * * */{seconds}"
    if seconds % 60 == 0 and seconds < 3600 and 60 % (seconds // 60) == 0:
        return f"*/{seconds // 60} * * * *"
    if seconds % 3600 == 0 and seconds < 86400 and 24 % (seconds // 3600) == 0:
        return f"0 */{seconds // 3600} * * *"
    raise ValueError(f"an interval of {seconds} s does not divide a minute, an hour or a day")


def _build() -> procrastinate.App:
    app = procrastinate.App(connector=testing.InMemoryConnector())
    for namespace, module_path in DOMAINS.items():
        module = importlib.import_module(module_path)
        app.add_tasks_from(module.blueprint, namespace=namespace)
        for task, seconds in module.PERIODIC:
            app.periodic(cron=cron_every(seconds))(task)
    return app


job_app = _build()
