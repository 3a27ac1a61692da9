"""``/console/pools``: the workspace's node pools, and one pool with its nodes (provider, region,
price) and its events. Read-only: scaling is the API's and the CLI's (``computehub pool scale``)."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import Parameter
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.pages.common import CONSOLE_DEPENDENCIES, CONSOLE_GUARDS, page
from app.db.models import User
from app.pools import service
from app.pools.spec import names
from app.services.inputs import DB_ID_MAX
from app.sla import figures as sla
from app.workspaces.scope import Scope


class PoolsPageController(Controller):
    path = "/console/pools"
    guards = CONSOLE_GUARDS
    dependencies = CONSOLE_DEPENDENCIES

    @get("/", name="console_pools", permission="view")
    async def index(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                    workspace: NamedDependency[Scope]) -> Template:
        if not await service.pools_allowed(db, workspace.workspace_id, workspace.is_org,
                                           grace_days=request.app.state.settings.billing.grace_days):
            return page("console/pools.html", 403, user=user, locked=True, rows=[])
        rows = [(p, await service.active_count(db, p.id)) for p in await service.list_pools(db, workspace)]
        return page("console/pools.html", user=user, locked=False, rows=rows,
                    can_manage=workspace.allows("manage_pools"))

    @get("/{pool_id:int}", name="console_pool", permission="view")
    async def one(self, request: Request, db: NamedDependency[AsyncSession], user: NamedDependency[User],
                  workspace: NamedDependency[Scope], pool_id: int = Parameter(ge=1, le=DB_ID_MAX)) -> Template:
        pool = await service.get(db, workspace, pool_id)  # another workspace's: 404 before anything else
        await service.ensure_allowed(db, workspace, request.app.state.settings.billing.grace_days)
        shown = await service.nodes(db, pool.id, include_ended=False)
        return page("console/pool.html", user=user, pool=pool, nodes=shown,
                    active=sum(v.node.state == "active" for v in shown), events=await service.events(db, pool.id),
                    providers=names(pool.allowed_providers), regions=names(pool.allowed_regions),
                    uptime=await sla.pool_figures(db, pool.id), uptime_rules=sla.RULES, pool_rules=sla.POOL_RULES)
