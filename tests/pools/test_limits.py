"""A pool launches through the console's launch path, so the workspace's own limits hold for it too:
its quotas (here $ per hour) stop it short of its target, a spent hard-limited budget stops it from
launching at all, each said once on the pool's timeline; every node launch is in the audit log."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from app.db.models import AuditEvent, BudgetEnforcement, WorkspaceQuota
from app.db.types import utcnow
from app.pools.reconcile import reconcile_pool
from app.workspaces.months import budget_month


async def test_the_workspace_quota_stops_the_pool_short(world, clock):
    async with world.sessions() as session, session.begin():
        session.add(WorkspaceQuota(workspace_id=world.org.id, max_hourly_spend=Decimal("5.00")))  # two at 2.49
    pool_id = await world.pool(target_nodes=4, max_nodes=4)
    report = await reconcile_pool(world.ctx, pool_id, clock())
    assert len(report.launched) == 2 and await world.live_instances() == 2
    [held] = await world.events(pool_id, "held")
    assert "launching paused" in held.message and "per hour" in held.message
    await reconcile_pool(world.ctx, pool_id, clock())
    assert len(await world.events(pool_id, "held")) == 1 and await world.live_instances() == 2
    async with world.sessions() as session:
        launches = (await session.execute(select(AuditEvent.actor).where(AuditEvent.action == "instance.launch"))).scalars()
        assert list(launches) == ["node-pool", "node-pool"]


async def test_a_spent_hard_limit_launches_nothing(world, clock):
    now = utcnow()
    async with world.sessions() as session, session.begin():
        month = await budget_month(session, world.org.id, now)
        session.add(BudgetEnforcement(workspace_id=world.org.id, month=month, noticed_at=now,
                                      stop_due_at=now + timedelta(hours=1)))
    pool_id = await world.pool(target_nodes=2, max_nodes=2)
    report = await reconcile_pool(world.ctx, pool_id, clock())
    assert report.launched == [] and await world.live_instances() == 0
    [held] = await world.events(pool_id, "held")
    assert "monthly budget" in held.message
