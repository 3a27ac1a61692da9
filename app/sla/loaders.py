"""Read what the database records for an instance or a pool into ``rolling.History`` (async, read-only).

Sources: ``instance_events`` (every state change, with its time) and ``health_checks`` (each check's
time, ``healthy`` and ``detail``: the cause of a failure). Maintenance windows are not recorded
anywhere yet, so the loaders return none. A pool's nodes are its ``node_pool_nodes`` rows that still
name an instance (ended nodes included: their history counts for the windows they were up in).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import HealthCheck, InstanceEvent, PoolNode
from app.sla.rolling import History
from app.sla.uptime import Check, StateChange


async def load_instance(session: AsyncSession, instance_id: int, start: datetime, end: datetime,
                        interval: timedelta) -> History:
    """The state changes and checks that decide ``[start, end)``: those inside it, plus the state in
    force at ``start`` and the checks recent enough (2 x interval) to still count at ``start``."""
    before = (await session.execute(select(func.max(InstanceEvent.at)).where(
        InstanceEvent.instance_id == instance_id, InstanceEvent.at <= start))).scalar()
    since = before if before is not None else start
    events = (await session.execute(
        select(InstanceEvent.at, InstanceEvent.status).where(
            InstanceEvent.instance_id == instance_id, InstanceEvent.at >= since, InstanceEvent.at < end)
        .order_by(InstanceEvent.at, InstanceEvent.id))).all()
    checks = (await session.execute(
        select(HealthCheck.at, HealthCheck.healthy, HealthCheck.detail).where(
            HealthCheck.instance_id == instance_id, HealthCheck.at >= start - 2 * interval, HealthCheck.at < end)
        .order_by(HealthCheck.at, HealthCheck.id))).all()
    return History(instance_id, [StateChange(at, status) for at, status in events],
                   [Check(at, bool(ok), None if ok else detail) for at, ok, detail in checks], [])


async def load_pool(session: AsyncSession, pool_id: int, start: datetime, end: datetime,
                    interval: timedelta) -> list[History]:
    """Caller has already scoped ``pool_id`` to the workspace (another workspace's pool is a 404 there)."""
    ids = (await session.execute(select(PoolNode.instance_id).where(
        PoolNode.pool_id == pool_id, PoolNode.instance_id.is_not(None)).order_by(PoolNode.id))).scalars().all()
    return [await load_instance(session, i, start, end, interval) for i in ids]
