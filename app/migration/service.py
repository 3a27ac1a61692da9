"""Migrations as pages and the API see them: start one, read it with its steps, roll it back.

Every call takes an ``Owner`` (a resolved ``Scope`` from a page or the API): another workspace's
migration or instance is ``NotFoundForUser`` (404); starting and rolling back need "operate"; the
feature is Pro (``FeatureLocked``, 403 naming the plan).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import audit
from app.billing.entitlements import ensure_feature_in
from app.console.bindings import get_owned as get_owned_binding
from app.console.errors import ConsoleError, NotFoundForUser
from app.console.instances import get_owned as get_owned_instance
from app.db.models import Migration, MigrationBucket, MigrationStep, Offer, ProviderBinding
from app.db.types import utcnow
from app.migration import machine as m
from app.migration.errors import InvalidSyncInput
from app.migration.jobs import queue_soon, record_event
from app.migration.paths import SyncRoot, validate_roots
from app.settings import Settings
from app.workspaces.scope import Owner, resolve
from providers.base import InstanceStatus

FEATURE = "migration"
MAX_WINDOW_SECONDS = 30 * 86400


@dataclass(frozen=True)
class Target:
    """Where to: an offer row, or its fields given directly (the CLI, a price page's offer).
    ``binding_id`` None: the workspace's one usable key for the offer's provider."""

    binding_id: int | None
    offer_id: int | None = None
    instance_type: str = ""
    region: str = ""
    spot: bool = False
    price_per_hour: Decimal | None = None


@dataclass(frozen=True)
class MigrationView:
    migration: Migration
    steps: list[MigrationStep]

    @property
    def can_roll_back(self) -> bool:
        row = self.migration
        return row.state in m.ROLLBACK_ALLOWED and row.source_deleted_at is None

    def to_json(self) -> dict:
        row = self.migration
        times = ("created_at", "updated_at", "finished_at", "verified_at", "switched_at", "rollback_until",
                 "source_deleted_at")
        return {
            "id": row.id, "state": row.state, "source_instance_id": row.source_instance_id,
            "target_instance_id": row.target_instance_id,
            "target": {"provider": row.target_provider, "instance_type": row.target_instance_type,
                       "region": row.target_region, "spot": row.target_spot,
                       "price_per_hour": str(row.target_price_per_hour) if row.target_price_per_hour is not None
                       else None},
            "paths": json.loads(row.paths or "[]"), "bucket": row.bucket_name or None, "error": row.error,
            "rollback_reason": row.rollback_reason, "can_roll_back": self.can_roll_back,
            **{k: (getattr(row, k).isoformat() if getattr(row, k) else None) for k in times},
            "steps": [{"state": s.state, "attempt": s.attempt, "started_at": s.started_at.isoformat(),
                       "finished_at": s.finished_at.isoformat() if s.finished_at else None,
                       "outcome": s.outcome, "log": s.log} for s in self.steps],
        }


def _roots(paths: Iterable[str | SyncRoot | dict]) -> list[SyncRoot]:
    items = []
    for p in paths:
        if isinstance(p, dict):
            items.append(SyncRoot(str(p.get("source", "")), str(p.get("target") or p.get("source", ""))))
        else:
            items.append(p)
    if not items:
        return []  # a config-only migration: the deployment moves, no data is copied
    try:
        return list(validate_roots(items))
    except InvalidSyncInput as exc:
        raise ConsoleError(str(exc)) from None


async def _target_binding(session: AsyncSession, scope, target: Target):
    if target.binding_id is not None:
        return await get_owned_binding(session, scope, target.binding_id)
    if target.offer_id is None:
        raise ConsoleError("name the provider key the target is launched with")
    offer = await session.get(Offer, target.offer_id)
    if offer is None:
        raise ConsoleError("no such offer")
    keys = list((await session.execute(select(ProviderBinding).where(
        scope.visible(ProviderBinding), ProviderBinding.provider == offer.source,
        ProviderBinding.status != "disabled").order_by(ProviderBinding.id))).scalars())
    if not keys:
        raise ConsoleError(f"bind a {offer.source} key first: the target is launched with it")
    if len(keys) > 1:
        raise ConsoleError(f"you have {len(keys)} {offer.source} keys; name the one to launch with "
                           f"({', '.join(str(k.id) for k in keys)})")
    return keys[0]


async def _target_fields(session: AsyncSession, target: Target, binding_provider: str) -> Target:
    if target.offer_id is None:
        if not target.instance_type or not target.region:
            raise ConsoleError("choose a target offer (instance type and region)")
        return target
    offer = await session.get(Offer, target.offer_id)
    if offer is None:
        raise ConsoleError("no such offer")
    if offer.source != binding_provider:
        raise ConsoleError(f"the offer is {offer.source}'s; choose a {offer.source} key for it")
    return Target(target.binding_id, offer.id, offer.instance_type, offer.region, offer.spot, offer.price_per_hour)


async def create(sessions: async_sessionmaker[AsyncSession], settings: Settings, owner: Owner, instance_id: int,
                 target: Target, paths: Iterable[str | SyncRoot | dict] = (), *, bucket: str = "",
                 rollback_window_seconds: int = 86400) -> MigrationView:
    """``bucket``: the name of a bucket bound to the workspace (``store.save_bucket``); empty on the
    sandbox, whose instances share the demo's local bucket."""
    roots = _roots(paths)
    if not 0 <= rollback_window_seconds <= MAX_WINDOW_SECONDS:
        raise ConsoleError("the rollback window is between 0 seconds and 30 days")
    now = utcnow()
    try:
        async with sessions() as session, session.begin():
            scope = await resolve(session, owner)
            source = await get_owned_instance(session, scope, instance_id)
            binding = await _target_binding(session, scope, target)
            scope.require("operate")
            await ensure_feature_in(session, scope, FEATURE, settings.billing.grace_days)
            fields = await _target_fields(session, target, binding.provider)
            if source.status not in (InstanceStatus.RUNNING.value, InstanceStatus.STOPPED.value):
                raise ConsoleError(f"{source.name} is {source.status}; a migration starts from a running or stopped instance")
            if roots and source.status != InstanceStatus.RUNNING.value:
                raise ConsoleError(f"{source.name} must be running for its data to be copied")
            if (binding.provider, fields.instance_type, fields.region, bool(fields.spot)) == (
                    source.provider, source.instance_type, source.region, bool(source.spot)):  # another market is a move
                raise ConsoleError("the target is the offer the instance already runs on")
            if bucket:
                if "sandbox" in (source.provider, binding.provider):
                    raise ConsoleError("sandbox instances copy through the demo's local bucket; leave the bucket empty")
                bound = (await session.execute(select(MigrationBucket.id).where(
                    MigrationBucket.workspace_id == scope.workspace_id, MigrationBucket.name == bucket))).scalar()
                if bound is None:
                    raise ConsoleError(f"no bucket named {bucket!r} is bound to this workspace")
            elif roots and "sandbox" not in (source.provider, binding.provider):
                raise ConsoleError("name the bucket the data is copied through (bind one first)")
            busy = (await session.execute(select(Migration.id).where(Migration.active_source_id == source.id))).scalar()
            if busy is not None:
                raise ConsoleError(f"{source.name} is already being migrated")
            row = Migration(
                workspace_id=scope.workspace_id, user_id=scope.user_id, source_instance_id=source.id,
                active_source_id=source.id, source_was_running=source.status == InstanceStatus.RUNNING.value,
                target_binding_id=binding.id, target_provider=binding.provider, target_instance_type=fields.instance_type,
                target_region=fields.region, target_spot=fields.spot, target_price_per_hour=fields.price_per_hour,
                target_client_token=uuid.uuid4().hex, state=m.PLANNED,
                paths=json.dumps([{"source": r.source, "target": r.target} for r in roots]), bucket_name=bucket,
                rollback_window_seconds=rollback_window_seconds, created_at=now, updated_at=now)
            session.add(row)
            await session.flush()
            await record_event(session, row, "start", now, actor=await audit.actor_for(session, scope.user_id))
            migration_id = row.id
    except IntegrityError:  # a second start at the same moment: the unique active source refused it
        raise ConsoleError("this instance is already being migrated") from None
    await queue_soon(migration_id, m.PLANNED)
    return await get(sessions, owner, migration_id)


async def _owned(session: AsyncSession, owner: Owner, migration_id: int) -> Migration:
    scope = await resolve(session, owner)
    row = await session.get(Migration, migration_id)
    if row is None or row.workspace_id != scope.workspace_id:
        raise NotFoundForUser("no such migration")
    return row


async def get(sessions: async_sessionmaker[AsyncSession], owner: Owner, migration_id: int) -> MigrationView:
    async with sessions() as session:
        row = await _owned(session, owner, migration_id)
        steps = list((await session.execute(select(MigrationStep).where(MigrationStep.migration_id == row.id)
                                            .order_by(MigrationStep.id))).scalars())
        return MigrationView(row, steps)


async def list_migrations(sessions: async_sessionmaker[AsyncSession], owner: Owner) -> list[Migration]:
    async with sessions() as session:
        scope = await resolve(session, owner)
        return list((await session.execute(select(Migration).where(Migration.workspace_id == scope.workspace_id)
                                           .order_by(Migration.id.desc()))).scalars())


async def roll_back(sessions: async_sessionmaker[AsyncSession], owner: Owner, migration_id: int,
                    reason: str = "rolled back at the user's request") -> MigrationView:
    """Cancel a running migration or undo a finished cut-over while the old instance is kept."""
    now = utcnow()
    async with sessions() as session, session.begin():
        scope = await resolve(session, owner)
        row = await _owned(session, scope, migration_id)
        scope.require("operate")
        # One conditional write: a cleaning_up step that marked the source's deletion first wins.
        changed = await session.execute(
            update(Migration).where(Migration.id == row.id, Migration.state.in_(m.ROLLBACK_ALLOWED),
                                    Migration.source_deleted_at.is_(None))
            .values(state=m.ROLLING_BACK, rollback_reason=reason[:2000], wake_at=None, step_attempts=0,
                    step_deadline=None, updated_at=now))
        if changed.rowcount != 1:
            raise ConsoleError(f"this migration can no longer be rolled back (it is {row.state})")
        await session.refresh(row)
        await record_event(session, row, "cancel", now, actor=await audit.actor_for(session, scope.user_id))
    await queue_soon(migration_id, m.ROLLING_BACK)
    return await get(sessions, owner, migration_id)
