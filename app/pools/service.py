"""Create, read, scale and delete node pools in the caller's workspace (the API, the CLI, pages).

Pools are Enterprise: the workspace must be an organization whose own plan (its subscription or
trial, not any member's) lists ``node_pools`` (read from the plan, not through ``BUILT_FEATURES``:
the plans page lists pools only once they are complete). Every change is audited in the
organization's chain. Another workspace's pool is a 404; a member limited to projects sees only
their projects' pools."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from litestar.exceptions import PermissionDeniedException
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.billing.entitlements import FeatureLocked, organization_entitlements
from app.console.errors import NotFoundForUser
from app.db.models import DeploymentTemplate, Instance, NodePool, PoolEvent, PoolNode
from app.db.types import money, utcnow
from app.pools.spec import PoolError, PoolSpec, check_sizes, names
from app.workspaces import projects
from app.workspaces.scope import Scope

FEATURE = "node_pools"
EVENTS_SHOWN = 100


class PoolsLocked(FeatureLocked):
    """Not an organization, or its owner's plan has no node pools: 403 naming the plan."""

    def __init__(self) -> None:
        PermissionDeniedException.__init__(
            self, "Node pools need the Enterprise plan and an organization workspace. "
                  "Upgrade at /settings/subscription.")
        self.feature = FEATURE
        self.plan_name = "Enterprise"


async def pools_allowed(session: AsyncSession, workspace_id: int, is_org: bool, now: datetime | None = None,
                        grace_days: int = 7) -> bool:
    if not is_org:
        return False
    return FEATURE in (await organization_entitlements(session, workspace_id, now, grace_days)).features


async def ensure_allowed(session: AsyncSession, scope: Scope, grace_days: int = 7) -> None:
    if not await pools_allowed(session, scope.workspace_id, scope.is_org, grace_days=grace_days):
        raise PoolsLocked()


def event(session: AsyncSession, pool_id: int, kind: str, message: str, at: datetime, **where) -> None:
    session.add(PoolEvent(pool_id=pool_id, kind=kind, message=message, at=at, **where))


async def _template(session: AsyncSession, scope: Scope, template_id: int | None) -> DeploymentTemplate | None:
    if template_id is None:
        return None
    row = await session.get(DeploymentTemplate, template_id)
    if row is None or not scope.sees(row):
        raise NotFoundForUser("no such template")
    return row


async def create(session: AsyncSession, scope: Scope, spec: PoolSpec, grace_days: int = 7) -> NodePool:
    """The caller commits."""
    scope.require("manage_pools")
    await ensure_allowed(session, scope, grace_days)
    spec.validate()
    project_id = await projects.assignable(session, scope, spec.project_id)
    template = await _template(session, scope, spec.template_id)
    now = utcnow()
    pool = NodePool(
        workspace_id=scope.workspace_id, project_id=project_id, user_id=scope.user_id, name=spec.name,
        gpu=spec.gpu, gpus_per_node=spec.gpus_per_node, min_nodes=spec.min_nodes, target_nodes=spec.target_nodes,
        max_nodes=spec.max_nodes, max_price_per_gpu_hour=spec.max_price_per_gpu_hour, spot_policy=spec.spot_policy,
        allowed_providers=json.dumps(sorted(set(spec.allowed_providers))),
        allowed_regions=json.dumps(sorted(set(spec.allowed_regions))),
        template_id=template.id if template else None, image=spec.image or (template.image if template else ""),
        disk_gb=spec.disk_gb if spec.disk_gb is not None else (template.disk_gb if template else None),
        startup_script=spec.startup_script, health_check_url=spec.health_check_url or None, state="active",
        created_at=now, updated_at=now)
    try:
        async with session.begin_nested():
            session.add(pool)
            await session.flush()
    except IntegrityError:
        raise PoolError(f"name: this workspace already has a pool named {spec.name!r}") from None
    event(session, pool.id, "created", f"created with a target of {pool.target_nodes} node(s)", now)
    await _audit(session, scope, "pool.created", pool, after=_summary(pool))
    return pool


async def get(session: AsyncSession, scope: Scope, pool_id: int) -> NodePool:
    row = await session.get(NodePool, pool_id)
    if row is None or not scope.sees(row):
        raise NotFoundForUser("no such pool")
    return row


async def by_name(session: AsyncSession, scope: Scope, name: str) -> NodePool:
    row = (await session.execute(select(NodePool).where(scope.visible(NodePool), NodePool.name == name))).scalar()
    if row is None:
        raise NotFoundForUser("no such pool")
    return row


async def list_pools(session: AsyncSession, scope: Scope) -> list[NodePool]:
    scope.require("view")
    return list((await session.execute(select(NodePool).where(scope.visible(NodePool))
                                       .order_by(NodePool.name))).scalars())


async def scale(session: AsyncSession, scope: Scope, pool_id: int, target: int, grace_days: int = 7) -> NodePool:
    """Set the target (within min and max). The caller commits; the reconciler does the rest."""
    pool = await get(session, scope, pool_id)
    scope.require("manage_pools")
    await ensure_allowed(session, scope, grace_days)
    if pool.state != "active":
        raise PoolError("this pool is being deleted")
    check_sizes(pool.min_nodes, target, pool.max_nodes)
    if target != pool.target_nodes:
        before, now = pool.target_nodes, utcnow()
        pool.target_nodes, pool.updated_at = target, now
        event(session, pool.id, "scaled", f"target {before} -> {target} node(s)", now)
        await _audit(session, scope, "pool.scaled", pool, before={"target": before}, after={"target": target})
    return pool


async def delete(session: AsyncSession, scope: Scope, pool_id: int) -> NodePool:
    """Mark the pool for deletion: the reconciler deletes its nodes, then the pool. The caller commits."""
    pool = await get(session, scope, pool_id)
    scope.require("manage_pools")
    if pool.state != "deleting":
        now = utcnow()
        pool.state, pool.updated_at = "deleting", now
        event(session, pool.id, "deleting", "deleting every node, then the pool", now)
        await _audit(session, scope, "pool.deleted", pool, before=_summary(pool))
    return pool


async def _audit(session: AsyncSession, scope: Scope, action: str, pool: NodePool, **values) -> None:
    await audit.record(session, scope.audit_key, action, await audit.actor_for(session, scope.user_id),
                       target_type="pool", target_id=pool.id, **values)


def _summary(pool: NodePool) -> dict:
    return {"name": pool.name, "gpu": pool.gpu, "gpus_per_node": pool.gpus_per_node, "min": pool.min_nodes,
            "target": pool.target_nodes, "max": pool.max_nodes, "max_price_per_gpu_hour": pool.max_price_per_gpu_hour,
            "spot_policy": pool.spot_policy, "project": pool.project_id}


# -- views -------------------------------------------------------------------------------------

def money_str(value) -> str:
    """Exact money for JSON, at the stored scale ("2.490000"), like the rest of the API."""
    return format(money(value), "f")


@dataclass(frozen=True)
class NodeView:
    node: PoolNode
    instance: Instance | None

    def to_json(self) -> dict:
        inst = self.instance
        return {"id": self.node.id, "state": self.node.state, "instance_id": self.node.instance_id,
                "name": inst.name if inst else None, "status": inst.status if inst else None,
                "provider": inst.provider if inst else None, "region": inst.region if inst else None,
                "instance_type": inst.instance_type if inst else None, "spot": inst.spot if inst else None,
                "price_per_gpu_hour": money_str(self.node.price_per_gpu_hour),
                "created_at": self.node.created_at.isoformat(),
                "ended_at": self.node.ended_at.isoformat() if self.node.ended_at else None}


def pool_json(pool: NodePool, live_nodes: int | None = None) -> dict:
    data = {"id": pool.id, "name": pool.name, "state": pool.state, "gpu": pool.gpu,
            "gpus_per_node": pool.gpus_per_node, "min_nodes": pool.min_nodes, "target_nodes": pool.target_nodes,
            "max_nodes": pool.max_nodes, "max_price_per_gpu_hour": money_str(pool.max_price_per_gpu_hour),
            "spot_policy": pool.spot_policy, "allowed_providers": names(pool.allowed_providers),
            "allowed_regions": names(pool.allowed_regions), "project_id": pool.project_id,
            "template_id": pool.template_id, "image": pool.image, "disk_gb": pool.disk_gb,
            "health_check_url": pool.health_check_url, "created_at": pool.created_at.isoformat(),
            "reconciled_at": pool.reconciled_at.isoformat() if pool.reconciled_at else None}
    if live_nodes is not None:
        data["nodes_active"] = live_nodes
    return data


async def nodes(session: AsyncSession, pool_id: int, *, include_ended: bool = True) -> list[NodeView]:
    query = (select(PoolNode, Instance).outerjoin(Instance, Instance.id == PoolNode.instance_id)
             .where(PoolNode.pool_id == pool_id).order_by(PoolNode.id))
    if not include_ended:
        query = query.where(PoolNode.state != "ended")
    return [NodeView(n, i) for n, i in (await session.execute(query)).all()]


async def events(session: AsyncSession, pool_id: int, limit: int = EVENTS_SHOWN) -> list[PoolEvent]:
    return list((await session.execute(select(PoolEvent).where(PoolEvent.pool_id == pool_id)
                                       .order_by(PoolEvent.id.desc()).limit(limit))).scalars())


def event_json(row: PoolEvent) -> dict:
    return {"at": row.at.isoformat(), "kind": row.kind, "message": row.message, "instance_id": row.instance_id,
            "provider": row.provider, "region": row.region}


async def active_count(session: AsyncSession, pool_id: int) -> int:
    return (await session.execute(select(func.count()).select_from(PoolNode).where(
        PoolNode.pool_id == pool_id, PoolNode.state == "active"))).scalar_one()


async def detail_json(session: AsyncSession, pool: NodePool) -> dict:
    shown = await nodes(session, pool.id)
    data = pool_json(pool, sum(v.node.state == "active" for v in shown))
    data["nodes"] = [v.to_json() for v in shown if v.node.state != "ended"]
    data["events"] = [event_json(e) for e in await events(session, pool.id)]
    return data
