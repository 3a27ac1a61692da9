"""The reconciler on the sandbox: a pool is kept at its target across regions, through faults, never
above its node limit or its price; scale-down removes the most expensive nodes first; a blocked
provider-region is skipped until its time passes (a frozen clock)."""

from __future__ import annotations

from decimal import Decimal

from app.pools.reconcile import BLOCK_FOR, reconcile_pool
from tests.pools.conftest import EU, H100, US


async def test_a_pool_of_four_comes_back_through_capacity_errors_and_crashes(world, cloud, clock):
    """Capacity errors in the cheaper region, crashes in the other: 4 nodes after each of 2 passes."""
    await world.set_offer_price(US, "2.39")  # the index says us-1 is cheaper: tried first
    await world.set_offer_price(EU, "2.51", instance_type="sbx.h100.1x", spot=True)  # a spot offer over the price
    cloud.set_faults(world.org.api_key, no_capacity_regions=[US], crash_regions=[EU], crash_after_seconds=120)
    pool_id = await world.pool(target_nodes=4, max_nodes=5)

    first = await reconcile_pool(world.ctx, pool_id, clock())
    nodes = await world.nodes(pool_id)
    assert len(nodes) == 4 and {inst.region for _, inst in nodes} == {EU}
    assert first.blocked == [("sandbox", US)] and len(first.launched) == 4
    assert [e.region for e in await world.events(pool_id, "blocked")] == [US]
    assert await world.live_instances() == 4

    clock.advance(20 + 121)  # boot, then 2 minutes of running: every eu-1 node crashes
    second = await reconcile_pool(world.ctx, pool_id, clock())
    assert len(second.lost) == 4 and len(second.launched) == 4
    nodes = await world.nodes(pool_id)
    assert len(nodes) == 4 and {inst.region for _, inst in nodes} == {EU}  # us-1 still blocked
    assert await world.live_instances() == 4
    assert all(n.price_per_gpu_hour <= Decimal("2.50") for n, _ in nodes)
    assert all(not inst.spot for _, inst in nodes)  # the spot offer was over the price (and not the policy)

    # The block lapses and the capacity comes back: the next crashes are replaced in us-1.
    cloud.set_faults(world.org.api_key, crash_regions=[EU], crash_after_seconds=120)
    clock.advance(BLOCK_FOR.total_seconds())
    third = await reconcile_pool(world.ctx, pool_id, clock())
    assert len(third.lost) == 4 and third.blocked == []
    nodes = await world.nodes(pool_id)
    assert len(nodes) == 4 and {inst.region for _, inst in nodes} == {US}
    assert await world.live_instances() == 4
    # A pass with nothing to do launches nothing.
    assert (await reconcile_pool(world.ctx, pool_id, clock())).launched == []


async def test_never_above_max_nodes_or_max_price(world, cloud, clock):
    await world.set_offer_price(EU, "2.60")
    await world.set_offer_price(US, "2.45")
    pool_id = await world.pool(target_nodes=3, max_nodes=3, max_price_per_gpu_hour=Decimal("2.50"))
    for _ in range(3):
        await reconcile_pool(world.ctx, pool_id, clock())
        clock.advance(30)
        assert await world.live_instances() <= 3
    nodes = await world.nodes(pool_id)
    assert len(nodes) == 3 and {inst.region for _, inst in nodes} == {US}
    assert all(inst.offer_price_per_hour == Decimal("2.45") for _, inst in nodes)

    await world.set_offer_price(US, "2.55")  # nothing within the price any more: the pool waits, short
    cloud.set_faults(world.org.api_key, crash_after_seconds=10)
    clock.advance(30)
    report = await reconcile_pool(world.ctx, pool_id, clock())
    assert len(report.lost) == 3 and report.launched == []
    assert await world.live_instances() == 0
    assert [e.kind for e in await world.events(pool_id)][-1] == "no_offer"


async def test_scale_down_removes_the_most_expensive_first(world, cloud, clock):
    await world.set_offer_price(US, "2.39")
    pool_id = await world.pool(target_nodes=2, max_nodes=4)
    await reconcile_pool(world.ctx, pool_id, clock())  # two in us-1 at 2.39
    await world.set_offer_price(US, "2.60")  # now eu-1 (2.49) is the cheaper one
    await _scale(world, pool_id, 4)
    await reconcile_pool(world.ctx, pool_id, clock())  # two more, in eu-1
    clock.advance(30)
    nodes = await world.nodes(pool_id)
    assert sorted(inst.region for _, inst in nodes) == [EU, EU, US, US]

    bill_more_in(cloud, world.org.api_key, US, Decimal("3.10"))  # the provider now bills us-1 more
    await _scale(world, pool_id, 2)
    report = await reconcile_pool(world.ctx, pool_id, clock())
    assert len(report.removed) == 2 and report.launched == []
    remaining = await world.nodes(pool_id)
    assert sorted(inst.region for _, inst in remaining) == [EU, EU]
    draining = await world.nodes(pool_id, "draining")
    assert {inst.region for _, inst in draining} == {US}
    assert [e.region for e in await world.events(pool_id, "scaled_down")] == [US, US]
    clock.advance(10)  # the deletes finish: the nodes end, and nothing is launched for them
    report = await reconcile_pool(world.ctx, pool_id, clock())
    assert report.launched == [] and len(await world.nodes(pool_id, "ended")) == 2


async def test_a_blocked_region_is_skipped_until_its_time_passes(world, cloud, clock):
    await world.set_offer_price(US, "2.39")
    cloud.set_faults(world.org.api_key, no_capacity_regions=[US])
    pool_id = await world.pool(target_nodes=1, max_nodes=2)
    report = await reconcile_pool(world.ctx, pool_id, clock())
    assert report.blocked == [("sandbox", US)]
    cloud.set_faults(world.org.api_key)  # capacity is back, but the block holds
    await _scale(world, pool_id, 2)
    clock.advance(BLOCK_FOR.total_seconds() - 1)
    report = await reconcile_pool(world.ctx, pool_id, clock())
    assert report.blocked == [] and [i.region for _, i in await world.nodes(pool_id)] == [EU, EU]

    await _scale(world, pool_id, 0)
    clock.advance(1)
    await reconcile_pool(world.ctx, pool_id, clock())
    clock.advance(10)
    await _scale(world, pool_id, 1)
    report = await reconcile_pool(world.ctx, pool_id, clock())  # the block has passed: us-1 again
    assert [i.region for _, i in await world.nodes(pool_id)] == [US]


def bill_more_in(cloud, api_key: str, region: str, price: Decimal) -> None:
    """The sandbox raises its price for the instances in one region (its next answer reports it)."""
    with cloud._account(api_key) as account:
        for inst in account.instances():
            if inst.region == region:
                inst.price_per_hour = price
                account.changed(inst)


async def _scale(world, pool_id: int, target: int) -> None:
    from app.pools import service

    async with world.sessions() as session, session.begin():
        await service.scale(session, world.owner, pool_id, target)
