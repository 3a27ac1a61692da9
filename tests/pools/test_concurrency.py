"""Two reconcile passes of one pool at the same moment never launch more than it needs (PostgreSQL,
where two workers really run side by side): the lease lets one pass in; and even two passes that
both get past it (a lease that lapsed under a slow pass) are held by the pool-row lock and count
in the launch intent's transaction."""

from __future__ import annotations

import asyncio

import pytest

from app.pools import reconcile
from app.pools.reconcile import reconcile_pool


@pytest.fixture(autouse=True)
def postgres_only(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent workers: PostgreSQL")


async def test_two_passes_at_once_launch_the_target_once(world, cloud, clock):
    cloud.set_faults(world.org.api_key, latency_seconds=0.05)  # each provider call takes a while
    pool_id = await world.pool(target_nodes=3, max_nodes=4)
    first, second = await asyncio.gather(reconcile_pool(world.ctx, pool_id, clock()),
                                         reconcile_pool(world.ctx, pool_id, clock()))
    assert sorted([first.ran, second.ran]) == [False, True]
    assert len(first.launched) + len(second.launched) == 3
    assert len(await world.nodes(pool_id)) == 3 and await world.live_instances() == 3


async def test_past_the_lease_the_intent_still_counts_the_nodes(world, cloud, clock):
    cloud.set_faults(world.org.api_key, latency_seconds=0.05)
    pool_id = await world.pool(target_nodes=3, max_nodes=3)
    passes = [reconcile._reconcile(world.ctx, pool_id, clock()) for _ in range(3)]  # no lease at all
    reports = await asyncio.gather(*passes)
    assert sum(len(r.launched) for r in reports) == 3
    assert len(await world.nodes(pool_id)) == 3 and await world.live_instances() == 3
