"""The offers a pool may launch on: its GPU and GPUs per node, at most its price, on a provider the
workspace has a usable key for, in an allowed provider and region that is not blocked; cheapest
first (spot first under ``auto``). Read from the price index (``offers``), no provider called."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.launch_form import can_launch
from app.db.models import NodePool, Offer, PoolBlock, ProviderBinding
from app.pools.spec import gpu_slugs, names

UNUSABLE_KEYS = ("disabled", "invalid")


@dataclass(frozen=True)
class Candidate:
    offer: Offer
    binding_id: int

    @property
    def place(self) -> tuple[str, str]:
        return self.offer.source, self.offer.region

    @property
    def price_per_gpu_hour(self) -> Decimal:
        return self.offer.price_per_gpu_hour


async def blocked_places(session: AsyncSession, workspace_id: int, now: datetime) -> set[tuple[str, str]]:
    rows = await session.execute(select(PoolBlock.provider, PoolBlock.region).where(
        PoolBlock.workspace_id == workspace_id, PoolBlock.until > now))
    return {(p, r) for p, r in rows.all()}


async def keys_by_provider(session: AsyncSession, pool: NodePool) -> dict[str, int]:
    """One key per provider: the pool's project's first, then unassigned ones, then any."""
    rows = (await session.execute(select(ProviderBinding.id, ProviderBinding.provider, ProviderBinding.project_id)
                                  .where(ProviderBinding.workspace_id == pool.workspace_id,
                                         ProviderBinding.status.not_in(UNUSABLE_KEYS))
                                  .order_by(ProviderBinding.id))).all()

    def rank(row) -> int:
        return 0 if pool.project_id is not None and row.project_id == pool.project_id else (
            1 if row.project_id is None else 2)

    chosen: dict[str, int] = {}
    for row in sorted(rows, key=rank):
        chosen.setdefault(row.provider, row.id)
    return chosen


async def candidates(session: AsyncSession, pool: NodePool, now: datetime) -> list[Candidate]:
    keys = await keys_by_provider(session, pool)
    providers = set(names(pool.allowed_providers)) or set(keys)
    providers = {p for p in providers & set(keys) if can_launch(p)}
    if not providers:
        return []
    query = select(Offer).where(
        Offer.gpu_slug.in_(sorted(gpu_slugs(pool.gpu))), Offer.gpu_count == Decimal(pool.gpus_per_node),
        Offer.price_per_gpu_hour <= pool.max_price_per_gpu_hour, Offer.source.in_(sorted(providers)),
        Offer.available.is_not(False))
    if pool.spot_policy != "auto":
        query = query.where(Offer.spot.is_(pool.spot_policy == "spot"))
    regions = names(pool.allowed_regions)
    if regions:
        query = query.where(Offer.region.in_(regions))
    blocked = await blocked_places(session, pool.workspace_id, now)
    found = [Candidate(o, keys[o.source]) for o in (await session.execute(query)).scalars()
             if (o.source, o.region) not in blocked]
    found.sort(key=lambda c: (pool.spot_policy == "auto" and not c.offer.spot, c.price_per_gpu_hour,
                              c.offer.source, c.offer.region, c.offer.instance_type, c.offer.id))
    return found
