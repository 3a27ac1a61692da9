"""Pool tasks: reconcile one pool (a unit of work keyed by pool) and the periodic fan-out over pools.

``defer_unique`` keeps at most one waiting pass per pool and never two running at once; the lease
in ``reconcile_pool`` also covers a pass started outside the queue (a test, the CLI)."""

from __future__ import annotations

import logging

import procrastinate
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import NodePool
from app.jobs.engine import defer_unique, time_limit
from app.jobs.resources import resources
from app.pools.reconcile import PoolContext, reconcile_pool

log = logging.getLogger(__name__)
blueprint = procrastinate.Blueprint()
FAN_OUT_SECONDS = 30
RETRY = procrastinate.RetryStrategy(max_attempts=2, exponential_wait=5)


def unit(pool_id: int) -> str:
    return f"pool:{pool_id}"


@time_limit(240)
@blueprint.task(name="reconcile_pool", pass_context=True, retry=RETRY)
async def reconcile_one_pool(context: procrastinate.JobContext, pool_id: int) -> dict:
    res = resources(context)
    ctx = PoolContext(res.sessions, res.keyring, res.http, res.settings.billing.grace_days)
    report = await reconcile_pool(ctx, pool_id)
    if report.launched or report.lost or report.removed or report.blocked:
        log.info("pool %s: %s", pool_id, report.summary())
    return report.summary()


async def queue_all(sessions: async_sessionmaker[AsyncSession]) -> int:
    """One pass per pool; a pool whose pass is still waiting is not queued twice."""
    async with sessions() as session:
        ids = list((await session.execute(select(NodePool.id).order_by(NodePool.id))).scalars())
    deferred = 0
    for pool_id in ids:
        deferred += await defer_unique(reconcile_one_pool, unit(pool_id), pool_id=pool_id) is not None
    return deferred


@blueprint.task(name="fan_out", pass_context=True)
async def fan_out_pools(context: procrastinate.JobContext, timestamp: int | None = None) -> int:
    return await queue_all(resources(context).sessions)


PERIODIC = ((fan_out_pools, FAN_OUT_SECONDS),)
