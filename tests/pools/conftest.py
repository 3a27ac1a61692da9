"""Pool tests: an organization on Enterprise with its own sandbox key, the sandbox's offers in the
price index, and the sandbox cloud on a manual clock (fixtures from tests/console)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from app.db.models import Instance, NodePool, Offer, PoolEvent, PoolNode
from app.pools import service
from app.pools.reconcile import PoolContext
from app.pools.spec import PoolSpec
from app.workspaces.scope import Scope
from tests.console.conftest import app, clock, cloud, http, keyring, settings, sandbox_offers  # noqa: F401
from tests.workspaces.support import Org, org_with_every_role, scope_of

EU, US = "sandbox-eu-1", "sandbox-us-1"
H100 = "sbx.h100.1x"


@dataclass
class PoolWorld:
    org: Org
    owner: Scope
    ctx: PoolContext
    sessions: object

    async def pool(self, **changes) -> int:
        values = dict(name="trainers", gpu="h100", gpus_per_node=1, target_nodes=4, max_nodes=5,
                      max_price_per_gpu_hour=Decimal("2.50"), regions=(EU, US))
        values.update(changes)
        regions = values.pop("regions")
        async with self.sessions() as session, session.begin():
            row = await service.create(session, self.owner, PoolSpec(allowed_regions=tuple(regions), **values))
            return row.id

    async def nodes(self, pool_id: int, state: str = "active") -> list[tuple[PoolNode, Instance]]:
        async with self.sessions() as session:
            return list((await session.execute(select(PoolNode, Instance).join(Instance, Instance.id == PoolNode.instance_id)
                                               .where(PoolNode.pool_id == pool_id, PoolNode.state == state)
                                               .order_by(PoolNode.id))).all())

    async def live_instances(self) -> int:
        """Instances of the organization that may be billing (not terminated, not failed)."""
        async with self.sessions() as session:
            return (await session.execute(select(func.count()).select_from(Instance).where(
                Instance.workspace_id == self.org.id, Instance.status.not_in(("terminated", "failed"))))).scalar_one()

    async def events(self, pool_id: int, kind: str | None = None) -> list[PoolEvent]:
        async with self.sessions() as session:
            query = select(PoolEvent).where(PoolEvent.pool_id == pool_id).order_by(PoolEvent.id)
            if kind:
                query = query.where(PoolEvent.kind == kind)
            return list((await session.execute(query)).scalars())

    async def set_offer_price(self, region: str, price: str, instance_type: str = H100, spot: bool = False) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(update(Offer).where(Offer.source == "sandbox", Offer.region == region,
                                                      Offer.instance_type == instance_type, Offer.spot.is_(spot))
                                  .values(price_per_hour=Decimal(price), price_per_gpu_hour=Decimal(price)))

    async def get_pool(self, pool_id: int) -> NodePool | None:
        async with self.sessions() as session:
            return await session.get(NodePool, pool_id)


@pytest.fixture
async def world(sessions, keyring, cloud, http) -> PoolWorld:
    await sandbox_offers(sessions)
    org = await org_with_every_role(sessions, keyring)
    owner = await scope_of(sessions, org.people["owner"], org.id)
    return PoolWorld(org, owner, PoolContext(sessions, keyring, http), sessions)
