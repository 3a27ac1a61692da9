"""The pool tasks on the real job app: the fan-out queues one pass per pool (never a second while one
waits), and a worker running them brings every pool to its target."""

from __future__ import annotations

from app.jobs.registry import job_app
from app.pools.jobs import queue_all
from tests.support.jobs import drain, job_rows, queue_for


async def test_the_fan_out_queues_one_pass_per_pool_and_a_worker_runs_them(world, settings, database_url):
    first = await world.pool(name="alpha", target_nodes=2, max_nodes=2)
    second = await world.pool(name="beta", target_nodes=1, max_nodes=1)
    with queue_for(database_url) as connector:
        async with job_app.open_async():
            assert await queue_all(world.sessions) == 2
            assert await queue_all(world.sessions) == 0  # both still waiting
            rows = job_rows(database_url, connector)
            assert sorted(r["lock"] for r in rows) == [f"pool:{first}", f"pool:{second}"]
            await drain(settings, world.sessions)
    assert len(await world.nodes(first)) == 2 and len(await world.nodes(second)) == 1
    assert await world.live_instances() == 3
