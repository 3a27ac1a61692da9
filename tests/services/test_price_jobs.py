"""Price polling on the job engine: the fan-out queues each source when its own interval has
passed, one poll per source at a time, and the embedded web process runs it with no PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

from app.db.models import PriceSource as SourceRow
from app.db.types import utcnow
from app.jobs.engine import defer_unique
from app.jobs.registry import job_app
from app.services.jobs import fan_out_polls, poll_one_source
from app.settings import PollingSettings
from tests.support.jobs import drain, job_rows, queue_for


async def mark_attempted(sessions, **ago):
    async with sessions() as session, session.begin():
        for name, delta in ago.items():
            row = await session.get(SourceRow, name.replace("_", "-")) or SourceRow(name=name.replace("_", "-"))
            row.last_attempt_at = utcnow() - delta
            session.add(row)


async def test_the_fan_out_polls_each_source_when_its_interval_has_passed(settings, sessions, database_url,
                                                                         fake_registry):
    fake_registry.SCRIPTS["fake-alpha"] = [[], []]
    # Beta polls hourly and was polled 10 minutes ago; Lambda (real adapter) just now.
    await mark_attempted(sessions, fake_beta=timedelta(minutes=10), lambdalabs=timedelta(seconds=5))
    with queue_for(database_url):
        async with job_app.open_async():
            await fan_out_polls.defer_async()
            await drain(settings, sessions)
            assert fake_registry.CALLS["fake-alpha"] == 1
            assert fake_registry.CALLS["fake-beta"] == 0 and fake_registry.CALLS["lambdalabs"] == 0
            assert fake_registry.CALLS["fake-keyed"] == 0  # not configured: polled, but it never fetches

            # A worker restarting right away: alpha was just attempted, so nothing is polled again.
            await fan_out_polls.defer_async()
            await drain(settings, sessions)
            assert fake_registry.CALLS["fake-alpha"] == 1

            # Ten minutes later alpha is due again (its interval is 600 s); beta still is not.
            await mark_attempted(sessions, fake_alpha=timedelta(seconds=600), fake_beta=timedelta(minutes=20))
            await fan_out_polls.defer_async()
            await drain(settings, sessions)
            assert fake_registry.CALLS["fake-alpha"] == 2 and fake_registry.CALLS["fake-beta"] == 0


async def test_polling_switched_off_queues_no_poll(settings, sessions, database_url, fake_registry):
    off = dataclasses.replace(settings, polling=PollingSettings(enabled=False))
    with queue_for(database_url) as connector:
        async with job_app.open_async():
            await fan_out_polls.defer_async()
            await drain(off, sessions)
            assert not [j for j in job_rows(database_url, connector) if j["task_name"] == "prices:poll_source"]
    assert sum(fake_registry.CALLS.values()) == 0


async def test_a_source_waiting_to_be_polled_is_queued_once(settings, sessions, database_url, fake_registry):
    with queue_for(database_url) as connector:
        async with job_app.open_async():
            first = await defer_unique(poll_one_source, "poll:fake-alpha", name="fake-alpha")
            again = await defer_unique(poll_one_source, "poll:fake-alpha", name="fake-alpha")
            other = await defer_unique(poll_one_source, "poll:fake-beta", name="fake-beta")
            assert first is not None and again is None and other is not None
            waiting = [j for j in job_rows(database_url, connector) if j["status"] == "todo"]
            assert sorted(j["lock"] for j in waiting) == ["poll:fake-alpha", "poll:fake-beta"]


async def test_the_embedded_web_process_polls_on_start_with_no_database_queue(settings, sessions, database_url,
                                                                             fake_registry, tmp_path):
    """``make run``: the worker runs inside the web process and polls right after start."""
    from litestar.testing import AsyncTestClient

    from app.server import create_app
    from app.settings import SandboxSettings, SecuritySettings

    if database_url.startswith("postgresql"):
        return  # the embedded default is SQLite; PostgreSQL runs `computehub worker` (tests/jobs)
    fake_registry.SCRIPTS["fake-alpha"] = [[]]
    fake_registry.SCRIPTS["fake-beta"] = [[]]
    await mark_attempted(sessions, lambdalabs=timedelta(seconds=5))
    embedded = dataclasses.replace(settings, sandbox=SandboxSettings(enabled=False, demo_account=False),
                                   security=dataclasses.replace(SecuritySettings(), var_dir=tmp_path))
    app = create_app(embedded, engine=sessions.kw["bind"], run_worker=True)
    with queue_for(database_url):
        async with AsyncTestClient(app):
            for _ in range(200):
                if fake_registry.CALLS["fake-alpha"] and fake_registry.CALLS["fake-beta"]:
                    break
                await asyncio.sleep(0.05)
    assert fake_registry.CALLS["fake-alpha"] == 1 and fake_registry.CALLS["fake-beta"] == 1
