"""``/api/v1/pools``: node pools (Enterprise): list, create, one with its nodes and events, scale, delete.

The pool service (``service.py``) does the checks (another workspace's pool: 404; ``manage_pools``
to change; an organization on Enterprise); after a change the pool's reconcile pass is queued."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import procrastinate.exceptions
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency, Provide
from msgspec import Meta, Struct
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.api.auth import api_access, provide_api_scope, provide_api_user
from app.console.api.routes import ID
from app.db.models import User
from app.pools import service
from app.pools.spec import MAX_NODES, PoolSpec, parse_price
from app.workspaces.scope import Scope

log = logging.getLogger(__name__)
DbId = Annotated[int, Meta(ge=1, le=2**31 - 1)]
Nodes = Annotated[int, Meta(ge=0, le=MAX_NODES)]
Short = Annotated[str, Meta(max_length=128)]


class PoolIn(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=40)]
    gpu: Annotated[str, Meta(min_length=1, max_length=64)]
    """A GPU family (``h100``: any variant) or a variant (``h100-sxm``)."""
    target_nodes: Nodes
    max_nodes: Nodes
    max_price_per_gpu_hour: Annotated[str, Meta(max_length=32, examples=[{"value": "2.50"}])]
    """Dollars per GPU-hour, as a decimal string."""
    gpus_per_node: Annotated[int, Meta(ge=1, le=16)] = 1
    min_nodes: Nodes = 0
    spot_policy: Annotated[str, Meta(max_length=16)] = "on_demand"
    """on_demand | spot | auto (spot first, on-demand when no spot offer can be had)."""
    allowed_providers: Annotated[list[Short], Meta(max_length=32)] = []
    allowed_regions: Annotated[list[Short], Meta(max_length=32)] = []
    project_id: DbId | None = None
    template_id: DbId | None = None
    image: Annotated[str, Meta(max_length=255)] = ""
    disk_gb: Annotated[int, Meta(ge=10, le=65536)] | None = None
    startup_script: Annotated[str, Meta(max_length=16384)] = ""
    health_check_url: Annotated[str, Meta(max_length=512)] | None = None

    def spec(self) -> PoolSpec:
        return PoolSpec(
            name=self.name, gpu=self.gpu, gpus_per_node=self.gpus_per_node, target_nodes=self.target_nodes,
            max_nodes=self.max_nodes, max_price_per_gpu_hour=parse_price(self.max_price_per_gpu_hour),
            min_nodes=self.min_nodes, spot_policy=self.spot_policy, allowed_providers=tuple(self.allowed_providers),
            allowed_regions=tuple(self.allowed_regions), project_id=self.project_id, template_id=self.template_id,
            image=self.image, disk_gb=self.disk_gb, startup_script=self.startup_script,
            health_check_url=self.health_check_url)


class ScaleIn(Struct, forbid_unknown_fields=True):
    target_nodes: Nodes


async def queue_pass(pool_id: int) -> None:
    """Queue the pool's pass now where this process's queue is open; else the fan-out does within 30 s."""
    from app.pools.jobs import reconcile_one_pool, unit  # the job registry is not loaded in every web process
    from app.jobs.engine import defer_unique

    try:
        await defer_unique(reconcile_one_pool, unit(pool_id), pool_id=pool_id)
    except (procrastinate.exceptions.AppNotOpen, procrastinate.exceptions.UnboundTaskError):
        log.info("pool %s: the job queue is not open here; the fan-out will reconcile it", pool_id)


def _grace(request: Request) -> int:
    return request.app.state.settings.billing.grace_days


class PoolsApiController(Controller):
    path = "/api/v1/pools"
    dependencies = {"api_user": Provide(provide_api_user), "workspace": Provide(provide_api_scope)}
    guards = [api_access]  # the token, then the declared permission in the named workspace
    tags = ["pools"]
    security = [{"apiToken": []}]

    @get("/", permission="view", operation_id="listPools", summary="The workspace's node pools (Enterprise)")
    async def index(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                    workspace: NamedDependency[Scope]) -> list[dict[str, Any]]:
        await service.ensure_allowed(db, workspace, _grace(request))
        pools = await service.list_pools(db, workspace)
        return [service.pool_json(p, await service.active_count(db, p.id)) for p in pools]

    @post("/", permission="manage_pools", operation_id="createPool", status_code=201,
          summary="Create a node pool: keep N nodes of one GPU running at the cheapest offers")
    async def create(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                     workspace: NamedDependency[Scope], data: PoolIn) -> dict[str, Any]:
        pool = await service.create(db, workspace, data.spec(), _grace(request))
        answer = await service.detail_json(db, pool)
        await db.commit()
        await queue_pass(pool.id)
        return answer

    @get("/{pool_id:int}", permission="view", operation_id="getPool",
         summary="One pool with its nodes (provider, region, price) and its events")
    async def one(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                  workspace: NamedDependency[Scope], pool_id: int = ID) -> dict[str, Any]:
        pool = await service.get(db, workspace, pool_id)  # another workspace's: 404 before anything else
        await service.ensure_allowed(db, workspace, _grace(request))
        return await service.detail_json(db, pool)

    @post("/{pool_id:int}/scale", permission="manage_pools", operation_id="scalePool", status_code=200,
          summary="Set the pool's target node count (between its min and max)")
    async def scale(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                    workspace: NamedDependency[Scope], data: ScaleIn, pool_id: int = ID) -> dict[str, Any]:
        pool = await service.scale(db, workspace, pool_id, data.target_nodes, _grace(request))
        answer = await service.detail_json(db, pool)
        await db.commit()
        await queue_pass(pool.id)
        return answer

    @delete("/{pool_id:int}", permission="manage_pools", operation_id="deletePool", status_code=202,
            summary="Delete a pool: its nodes are deleted, then the pool")
    async def remove(self, request: Request, db: NamedDependency[AsyncSession], api_user: NamedDependency[User],
                     workspace: NamedDependency[Scope], pool_id: int = ID) -> dict[str, Any]:
        pool = await service.delete(db, workspace, pool_id)
        answer = service.pool_json(pool)
        await db.commit()
        await queue_pass(pool.id)
        return answer

