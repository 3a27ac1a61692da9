"""Several workers: one check and one repair per instance at a time."""

from __future__ import annotations

import asyncio

from app.repair.engine import RepairContext, check_instance
from app.repair.jobs import run_repair_cycle
from providers.http import new_client
from tests.repair.support import actions, checks, crash, messages, watched_instance


async def test_two_workers_running_the_job_at_once_repair_once(sessions, keyring, http, cloud, clock, settings, pro):
    row = await watched_instance(sessions, keyring, http, clock, settings, pro)
    await crash(cloud, clock, pro, row)
    cloud.set_faults(pro.api_key, latency_seconds=0.2)  # each provider call takes a while: the runs overlap
    now = clock()

    async with new_client() as http_a, new_client() as http_b:
        reports = await asyncio.gather(run_repair_cycle(sessions, keyring, http_a, settings, now=now),
                                       run_repair_cycle(sessions, keyring, http_b, settings, now=now))

    assert sorted(r.ran for r in reports) == [False, True]
    assert [(a.attempt, a.action) for a in await actions(sessions, row.id)] == [(1, "start")]
    assert len(await checks(sessions, row.id)) == 1
    assert len(await messages(sessions, "repair")) == 1


async def test_the_row_claim_alone_keeps_a_repair_single(sessions, keyring, http, cloud, clock, settings, pro):
    """Below the job's lease (a lease that expired during a slow run): the claim on the row."""
    row = await watched_instance(sessions, keyring, http, clock, settings, pro)
    await crash(cloud, clock, pro, row)
    cloud.set_faults(pro.api_key, latency_seconds=0.2)
    now = clock()

    async with new_client() as http_a, new_client() as http_b:
        outcomes = await asyncio.gather(check_instance(RepairContext(sessions, keyring, http_a, settings), row.id, now),
                                        check_instance(RepairContext(sessions, keyring, http_b, settings), row.id, now))

    assert sorted((o.action or "", o.skipped or "") for o in outcomes) == [
        ("", "another worker or action holds this instance"), ("start", "")]
    assert [(a.attempt, a.action) for a in await actions(sessions, row.id)] == [(1, "start")]
    assert len(await checks(sessions, row.id)) == 1


async def test_a_check_waits_for_a_users_action_in_flight(sessions, keyring, http, cloud, clock, settings, pro):
    from datetime import timedelta

    from sqlalchemy import update

    from app.db.models import Instance

    row = await watched_instance(sessions, keyring, http, clock, settings, pro)
    await crash(cloud, clock, pro, row)
    async with sessions() as session, session.begin():  # the user's "start" holds the row right now
        await session.execute(update(Instance).where(Instance.id == row.id)
                              .values(lock_token="users-start", lock_expires_at=clock() + timedelta(minutes=5)))

    report = await run_repair_cycle(sessions, keyring, http, settings, now=clock())

    assert [o.skipped for o in report.outcomes] == ["another worker or action holds this instance"]
    assert await actions(sessions, row.id) == [] and await checks(sessions, row.id) == []
