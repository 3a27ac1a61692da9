"""One reconcile pass of one pool: bring it to its target, through the console's own launch path.

1. Under the pool's lease (two workers never reconcile one pool at once), sync the keys its nodes
   run on (``console.sync``: states, preemptions, crashes), with no transaction open.
2. Nodes whose instance ended (terminated, failed, preempted, gone) stop counting: ``node_lost``.
3. Too many nodes: delete the most expensive first (``perform("delete")``, audited).
4. Too few: launch on the cheapest compatible offers (``offers.py``) with ``instances.launch``,
   so intents, quotas, the hard budget limit and the audit log apply as for a person's launch.
   A capacity or quota refusal blocks that provider-region for the workspace for ``BLOCK_FOR``
   and moves to the next offer, up to ``OFFERS_PER_NODE`` offers per node; the workspace's own
   quota or spent budget stops launching for this pass.
The node row is written in the launch intent's transaction, after locking the pool row and
counting its nodes again: a pool never holds more than ``max_nodes`` nodes (active or being
deleted), whatever runs beside it, and never launches above its price.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import audit
from app.console.errors import ConsoleError
from app.console.instances import FINAL_STATES, LAUNCHING, perform, spec_from_offer, launch
from app.console.quotas import QuotaReached
from app.console.spending_guard import SpendingLimitReached
from app.console.sync import sync_binding
from app.db.models import DeploymentTemplate, Instance, NodePool, PoolBlock, PoolEvent, PoolNode
from app.db.types import utcnow
from app.pools.offers import Candidate, candidates
from app.pools.service import event, pools_allowed
from app.security.keyring import Keyring
from app.services import leases
from app.workspaces.scope import Scope, on_behalf_of
from providers import errors

log = logging.getLogger(__name__)
ACTOR = audit.Actor(None, "node-pool")
LEASE_TTL = timedelta(seconds=60)
BLOCK_FOR = timedelta(minutes=15)
OFFERS_PER_NODE = 3
COUNTED = ("active", "draining")
_BLOCKING = (errors.NoCapacity, errors.QuotaExceeded)
_OFFER_REFUSED = (errors.InvalidRequest, errors.Unsupported)


class PoolFull(ConsoleError):
    """Raised in the intent's transaction: the pool already has its nodes (nothing is launched)."""


@dataclass
class PoolContext:
    sessions: async_sessionmaker[AsyncSession]
    keyring: Keyring
    http: httpx.AsyncClient
    grace_days: int = 7


@dataclass
class Report:
    pool_id: int
    ran: bool = True
    note: str = ""
    launched: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    blocked: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> dict:
        return {"ran": self.ran, "note": self.note, "launched": len(self.launched), "lost": len(self.lost),
                "removed": len(self.removed), "blocked": [f"{p}/{r}" for p, r in self.blocked]}


async def reconcile_pool(ctx: PoolContext, pool_id: int, now: datetime | None = None) -> Report:
    """``now``: the pass's clock for blocks and events (tests freeze it); the launch path keeps its own."""
    holder = f"{leases.WORKER_ID}:{uuid.uuid4().hex[:8]}"
    async with leases.held(ctx.sessions, f"pool:{pool_id}", LEASE_TTL, holder=holder) as mine:
        if not mine:
            return Report(pool_id, ran=False, note="another worker is reconciling this pool")
        return await _reconcile(ctx, pool_id, now or utcnow())


async def _reconcile(ctx: PoolContext, pool_id: int, now: datetime) -> Report:
    report = Report(pool_id)
    async with ctx.sessions() as session:
        pool = await session.get(NodePool, pool_id)
        if pool is None:
            return Report(pool_id, ran=False, note="no such pool")
        scope = await on_behalf_of(session, pool.workspace_id, pool.user_id)
        allowed = await pools_allowed(session, pool.workspace_id, scope.is_org, now, ctx.grace_days)
        keys = set((await session.execute(select(Instance.binding_id).join(PoolNode, PoolNode.instance_id == Instance.id)
                                          .where(PoolNode.pool_id == pool_id, PoolNode.state.in_(COUNTED),
                                                 Instance.binding_id.is_not(None)))).scalars())
    if not allowed and pool.state == "active":
        await _note_once(ctx.sessions, pool_id, "held", "paused: node pools need an organization on the Enterprise plan", now)
        return replace(report, ran=False, note="paused: not on a plan with node pools")
    for binding_id in sorted(keys):
        try:
            await sync_binding(ctx.sessions, ctx.keyring, ctx.http, binding_id)
        except Exception:  # noqa: BLE001 - a key that cannot sync leaves its nodes as last known
            log.exception("pool %s: syncing binding %s failed", pool_id, binding_id)
    active, draining = await _settle(ctx.sessions, pool_id, now, report)
    async with ctx.sessions() as session:
        pool = await session.get(NodePool, pool_id)
    if pool is None:  # its workspace went meanwhile
        return replace(report, ran=False, note="no such pool")
    desired = 0 if pool.state == "deleting" else pool.target_nodes
    if pool.state == "deleting" and not active and not draining:
        async with ctx.sessions() as session, session.begin():
            await session.delete(await session.get(NodePool, pool_id))
        return replace(report, note="deleted")
    if len(active) > desired:
        await _scale_down(ctx, scope, pool, active, len(active) - desired, now, report)
    elif len(active) < desired:
        room = min(desired - len(active), pool.max_nodes - len(active) - len(draining))
        if room > 0:
            await _scale_up(ctx, scope, pool, room, now, report)
    async with ctx.sessions() as session, session.begin():
        (await session.get(NodePool, pool_id)).reconciled_at = now
    return report


async def _note_once(sessions, pool_id: int, kind: str, message: str, now: datetime) -> None:
    async with sessions() as session, session.begin():
        latest = (await session.execute(select(PoolEvent.kind, PoolEvent.message).where(PoolEvent.pool_id == pool_id)
                                        .order_by(PoolEvent.id.desc()).limit(1))).first()
        if latest is None or tuple(latest) != (kind, message):
            event(session, pool_id, kind, message, now)


async def _settle(sessions, pool_id: int, now: datetime, report: Report) -> tuple[list, list]:
    """End the nodes whose instance ended; refresh prices. Returns (active, draining) as (node, instance)."""
    active, draining = [], []
    async with sessions() as session, session.begin():
        rows = (await session.execute(select(PoolNode, Instance).outerjoin(Instance, Instance.id == PoolNode.instance_id)
                                      .where(PoolNode.pool_id == pool_id, PoolNode.state.in_(COUNTED))
                                      .order_by(PoolNode.id))).all()
        for node, inst in rows:
            if inst is None or inst.status in FINAL_STATES:
                was = node.state
                node.state, node.ended_at = "ended", now
                if was == "active":
                    report.lost.append(node.id)
                    why = (inst.last_error or inst.status) if inst else "its instance was removed"
                    event(session, pool_id, "node_lost", f"{inst.name if inst else 'a node'}: {why}; replacing it",
                          now, instance_id=node.instance_id, provider=inst.provider if inst else None,
                          region=inst.region if inst else None)
                continue
            price = inst.provider_price_per_hour
            if price is not None and inst.gpu_count:
                node.price_per_gpu_hour = price / inst.gpu_count
            (active if node.state == "active" else draining).append((node.id, inst.id, node.price_per_gpu_hour,
                                                                     inst.status, node.created_at))
    return active, draining


async def _scale_down(ctx: PoolContext, scope: Scope, pool: NodePool, active: list, excess: int, now: datetime,
                      report: Report) -> None:
    """The most expensive nodes go first (the newest of equal price); a launch not yet confirmed waits."""
    deletable = [n for n in active if n[3] != LAUNCHING]
    victims = sorted(deletable, key=lambda n: (n[2], n[4]), reverse=True)[:excess]
    for node_id, instance_id, price, _status, _created in victims:
        async with ctx.sessions() as session, session.begin():
            node = await session.get(PoolNode, node_id)
            node.state = "draining"
        try:
            row = await perform(ctx.sessions, ctx.keyring, ctx.http, scope, instance_id, "delete", actor=ACTOR)
        except (ConsoleError, LookupError) as exc:
            async with ctx.sessions() as session, session.begin():
                (await session.get(PoolNode, node_id)).state = "active"
                event(session, pool.id, "scale_down_failed", str(exc), now, instance_id=instance_id)
            continue
        report.removed.append(node_id)
        async with ctx.sessions() as session, session.begin():
            event(session, pool.id, "scaled_down", f"deleted {row.name} at {usd(price)}/GPU-h (the most expensive)",
                  now, instance_id=instance_id, provider=row.provider, region=row.region)


async def _scale_up(ctx: PoolContext, scope: Scope, pool: NodePool, room: int, now: datetime, report: Report) -> None:
    async with ctx.sessions() as session:
        offers = await candidates(session, pool, now)
        template = await session.get(DeploymentTemplate, pool.template_id) if pool.template_id else None
    if not offers:
        await _note_once(ctx.sessions, pool.id, "no_offer", "no compatible offer within the pool's price and "
                         "providers (or every provider-region is blocked)", now)
        return
    for _ in range(room):
        for _attempt in range(OFFERS_PER_NODE):
            if not offers:
                return
            choice = offers[0]
            outcome = await _launch_one(ctx, scope, pool, choice, template, now, report)
            if outcome == "launched":
                break
            if outcome == "stop":
                return
            if outcome == "block":
                offers = [c for c in offers if c.place != choice.place]
            else:  # this offer refused: the next one
                offers = [c for c in offers if c is not choice]


async def _launch_one(ctx: PoolContext, scope: Scope, pool: NodePool, choice: Candidate, template, now: datetime,
                      report: Report) -> str:
    offer = choice.offer
    spec = replace(spec_from_offer(offer, choice.binding_id, f"{pool.name}-{secrets.token_hex(3)}", image=pool.image,
                                   disk_gb=pool.disk_gb, ssh_public_key=template.ssh_public_key if template else ""),
                   project_id=pool.project_id, template_id=pool.template_id)

    async def add_node(session: AsyncSession, row: Instance) -> None:
        locked = await session.get(NodePool, pool.id, with_for_update=True, populate_existing=True)
        if locked is None or locked.state != "active":
            raise PoolFull("the pool is gone or being deleted")
        counted = (await session.execute(select(func.count()).select_from(PoolNode).where(
            PoolNode.pool_id == pool.id, PoolNode.state.in_(COUNTED)))).scalar_one()
        active = (await session.execute(select(func.count()).select_from(PoolNode).where(
            PoolNode.pool_id == pool.id, PoolNode.state == "active"))).scalar_one()
        if counted >= locked.max_nodes or active >= locked.target_nodes:
            raise PoolFull("the pool already has its nodes")
        if choice.price_per_gpu_hour > locked.max_price_per_gpu_hour:
            raise PoolFull("the offer is above the pool's price")
        row.health_check_url = locked.health_check_url
        session.add(PoolNode(pool_id=pool.id, instance_id=row.id, state="active",
                             price_per_gpu_hour=choice.price_per_gpu_hour, created_at=now))

    where = {"provider": offer.source, "region": offer.region}
    try:
        row = await launch(ctx.sessions, ctx.keyring, ctx.http, scope, spec, actor=ACTOR, on_intent=add_node)
    except PoolFull as exc:
        return _stopped(report, str(exc))
    except (QuotaReached, SpendingLimitReached) as exc:
        await _note_once(ctx.sessions, pool.id, "held", f"launching paused: {exc}", now)
        return "stop"
    except (ConsoleError, LookupError) as exc:
        cause = exc.__cause__
        async with ctx.sessions() as session, session.begin():
            await _end_failed_node(session, spec.name, pool.id, now)
            if isinstance(cause, _BLOCKING):
                await _block(session, pool.workspace_id, offer.source, offer.region, str(exc), now)
                report.blocked.append(choice.place)
                event(session, pool.id, "blocked", f"{offer.source} {offer.region} refused ({exc}): skipped until "
                      f"{(now + BLOCK_FOR):%Y-%m-%d %H:%M} UTC", now, **where)
                return "block"
            event(session, pool.id, "launch_failed", f"{offer.instance_type}: {exc}", now, **where)
        if cause is None or isinstance(cause, _OFFER_REFUSED):
            return "next"
        return "stop"  # a timeout or an outage: the launch may exist; the next pass knows more
    report.launched.append(row.id)
    async with ctx.sessions() as session, session.begin():
        event(session, pool.id, "launched", f"{row.name}: {offer.instance_type} at {usd(choice.price_per_gpu_hour)}"
              f"/GPU-h{' (spot)' if offer.spot else ''}", now, instance_id=row.id, **where)
    return "launched"


def usd(value: Decimal) -> str:
    """``$2.49``: an event's price, to the cent (or to the 1/10000 where it has more)."""
    cents = value.quantize(Decimal("0.01"))
    return f"${cents if cents == value else value.quantize(Decimal('0.0001'))}"


def _stopped(report: Report, why: str) -> str:
    report.note = why
    return "stop"


async def _end_failed_node(session: AsyncSession, name: str, pool_id: int, now: datetime) -> None:
    """A launch the provider refused outright ends its node at once (its instance is ``failed``)."""
    found = (await session.execute(select(PoolNode, Instance).join(Instance, Instance.id == PoolNode.instance_id)
                                   .where(PoolNode.pool_id == pool_id, Instance.name == name))).first()
    if found is not None and found[1].status in FINAL_STATES:
        found[0].state, found[0].ended_at = "ended", now


async def _block(session: AsyncSession, workspace_id: int, provider: str, region: str, reason: str,
                 now: datetime) -> None:
    row = await session.get(PoolBlock, (workspace_id, provider, region))
    if row is None:
        try:
            async with session.begin_nested():  # another pool of the workspace may block it at the same moment
                session.add(PoolBlock(workspace_id=workspace_id, provider=provider, region=region,
                                      until=now + BLOCK_FOR, reason=reason[:500]))
            return
        except IntegrityError:
            row = await session.get(PoolBlock, (workspace_id, provider, region), populate_existing=True)
    row.until, row.reason = max(row.until, now + BLOCK_FOR), reason[:500]

