"""What each step of a migration does. Every step is safe to run again after a crash at any point:
- launching_target points the migration at its target row in the launch's own intent
  transaction and launches with the migration's token, so a second run finds that row (and the
  reconciler adopts an instance whose answer was lost) instead of launching another;
- the data steps are idempotent (``app/migration/steps.py``);
- switching stops the source only if it still runs and moves the identity once (``identity``);
- cleaning_up deletes the source only once the target is verified and switched to, and marks the
  deletion before asking for it (a rollback after that mark is refused).

No step holds a transaction open while it calls a provider or an instance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import audit
from app.console.bindings import decrypt_credentials
from app.console.errors import ConsoleError, NotFoundForUser
from app.console.instances import LAUNCHING, LaunchSpec, launch, perform
from app.console.sync import sync_binding
from app.db.models import Instance, Migration, ProviderBinding
from app.migration import machine as m
from app.migration.buckets import BucketKind, BucketSpec
from app.migration.errors import SyncError
from app.migration.manifest import Manifest
from app.migration.paths import SyncRoot
from app.migration.remote import Remote
from app.migration.steps import pull, push, verify
from app.security.keyring import Keyring
from app.settings import Settings
from app.workspaces.scope import on_behalf_of
from providers.base import InstanceStatus

ACTOR = audit.Actor(None, "migration")
GONE = (InstanceStatus.TERMINATED.value, InstanceStatus.FAILED.value)


@dataclass
class StepContext:
    sessions: async_sessionmaker[AsyncSession]
    keyring: Keyring
    http: httpx.AsyncClient
    settings: Settings
    now: datetime


async def _load(ctx: StepContext, migration_id: int) -> tuple[Migration, Instance | None, Instance | None]:
    async with ctx.sessions() as session:
        row = await session.get(Migration, migration_id)
        source = await session.get(Instance, row.source_instance_id) if row.source_instance_id else None
        target = await session.get(Instance, row.target_instance_id) if row.target_instance_id else None
        return row, source, target


async def _scope(ctx: StepContext, row: Migration):
    async with ctx.sessions() as session:
        return await on_behalf_of(session, row.workspace_id, row.user_id)


async def _refresh(ctx: StepContext, binding_id: int | None) -> None:
    """The provider's view of one key's instances, written to their rows (adopts a lost launch too)."""
    if binding_id is not None:
        await sync_binding(ctx.sessions, ctx.keyring, ctx.http, binding_id, now=ctx.now)


async def _act(ctx: StepContext, row: Migration, instance: Instance, operation: str) -> None:
    try:
        await perform(ctx.sessions, ctx.keyring, ctx.http, await _scope(ctx, row), instance.id, operation, actor=ACTOR)
    except ConsoleError as exc:  # another action holds the row, the provider is busy: later
        raise m.TryAgain(f"{operation} {instance.name}: {exc}") from exc


# -- remotes and the bucket ------------------------------------------------------------------------

async def remote_for(ctx: StepContext, instance: Instance) -> Remote:
    """How ComputeHub runs commands on an instance: the sandbox's simulated machine, or SSH."""
    async with ctx.sessions() as session:
        binding = await session.get(ProviderBinding, instance.binding_id) if instance.binding_id else None
    if binding is None or not instance.provider_instance_id:
        raise m.MigrationFailed(f"{instance.name} has no provider key or is not known to its provider")
    if instance.provider == "sandbox":
        from app.migration.sandbox import SandboxRemote
        from providers.sandbox import get_cloud

        api_key = decrypt_credentials(binding, ctx.keyring).get("api_key", "")
        return SandboxRemote(get_cloud(), api_key, instance.provider_instance_id, Path(ctx.settings.sandbox.data_dir))
    # Real providers: SSH with the workspace's key (installed at launch). Not wired yet: the
    # migration fails clearly instead of guessing a login.
    raise m.MigrationFailed(f"copying data from {instance.provider} instances over SSH is not available yet; "
                            "start a config-only migration (no paths)")


async def bucket_for(ctx: StepContext, row: Migration, source: Instance) -> BucketSpec:
    if row.bucket_name:  # the workspace's bound bucket, decrypted for this step only
        from app.migration.store import load_bucket

        async with ctx.sessions() as session:
            try:
                return await load_bucket(session, ctx.keyring, row.workspace_id, row.bucket_name)
            except NotFoundForUser:
                raise m.SyncFailed(f"the bucket {row.bucket_name!r} is no longer bound to this workspace") from None
    from providers.sandbox.disk import bucket_directory

    return BucketSpec(BucketKind.LOCAL, directory=str(bucket_directory(Path(ctx.settings.sandbox.data_dir))),
                      prefix=f"ws-{row.workspace_id}")


def roots_of(row: Migration) -> list[SyncRoot]:
    return [SyncRoot(p["source"], p["target"]) for p in json.loads(row.paths or "[]")]


def prefix_of(row: Migration) -> str:
    return f"migration-{row.id}"


# -- the steps --------------------------------------------------------------------------------------

async def planned(ctx: StepContext, migration_id: int) -> m.Done:
    row, source, _ = await _load(ctx, migration_id)
    if source is None or source.status in GONE:
        raise m.SourceGone("the instance to migrate no longer exists")
    return m.Done(f"moving {source.name} ({source.provider} {source.instance_type}, {source.region}) to "
                  f"{row.target_provider} {row.target_instance_type} in {row.target_region}")


async def launching_target(ctx: StepContext, migration_id: int) -> m.Done:
    row, source, target = await _load(ctx, migration_id)
    if target is None:
        if source is None:
            raise m.SourceGone("the instance to migrate no longer exists")
        spec = LaunchSpec(binding_id=row.target_binding_id, name=source.name, instance_type=row.target_instance_type,
                          region=row.target_region, image=source.image, disk_gb=source.disk_gb,
                          ssh_public_key=source.ssh_public_key, spot=row.target_spot, gpu_slug=source.gpu_slug,
                          gpu_raw_name=source.gpu_raw_name, gpu_count=source.gpu_count,
                          offer_price_per_hour=row.target_price_per_hour, template_id=source.template_id)

        async def point_at_target(session: AsyncSession, instance: Instance) -> None:
            await session.execute(update(Migration).where(Migration.id == row.id)
                                  .values(target_instance_id=instance.id))

        try:
            target = await launch(ctx.sessions, ctx.keyring, ctx.http, await _scope(ctx, row), spec, actor=ACTOR,
                                  client_token=row.target_client_token, on_intent=point_at_target)
        except ConsoleError as exc:
            _, _, target = await _load(ctx, migration_id)
            if target is None or target.status in GONE:  # refused before or by the provider: nothing exists
                raise m.LaunchFailed(f"the target could not be launched: {exc}") from exc
            raise m.TryAgain(f"the launch's outcome is not known yet: {exc}") from exc
        return m.Done(f"launched {target.name} at {target.provider} ({target.provider_instance_id})")
    if target.status in GONE:
        raise m.LaunchFailed(f"the target launch failed: {target.last_error or target.status}")
    if target.provider_instance_id is None and target.status == LAUNCHING:
        # A launch whose answer was lost: the reconciler finds it by its token (or fails it later).
        await _refresh(ctx, target.binding_id)
        _, _, target = await _load(ctx, migration_id)
        if target.provider_instance_id is None:
            if target.status in GONE:
                raise m.LaunchFailed(f"the target launch failed: {target.last_error or target.status}")
            raise m.TryAgain("waiting for the provider to confirm the target's launch")
    return m.Done(f"the target {target.provider_instance_id} was already launched")


async def waiting_ready(ctx: StepContext, migration_id: int) -> m.Done | m.Wait:
    row, _, target = await _load(ctx, migration_id)
    await _refresh(ctx, target.binding_id)
    _, _, target = await _load(ctx, migration_id)
    if target.status == InstanceStatus.RUNNING.value:
        return m.Done(f"the target runs ({target.provider_instance_id})")
    if target.status in GONE or target.status == InstanceStatus.STOPPED.value:
        raise m.TargetNeverReady(f"the target did not become ready: it is {target.status}"
                                 + (f" ({target.last_error})" if target.last_error else ""))
    if row.step_deadline is not None and ctx.now >= row.step_deadline:
        raise m.TargetNeverReady(f"the target was still {target.status} after "
                                 f"{int(m.READY_WITHIN.total_seconds() // 60)} minutes")
    return m.Wait(ctx.now + m.POLL_EVERY, f"the target is {target.status}")


def _sync_failure(exc: SyncError) -> m.StepError:
    return m.TryAgain(str(exc)) if exc.retryable else m.SyncFailed(str(exc))


async def syncing(ctx: StepContext, migration_id: int) -> m.Done:
    row, source, _ = await _load(ctx, migration_id)
    roots = roots_of(row)
    if not roots:
        return m.Done("config-only migration: nothing to copy")
    if source is None or source.status in GONE:
        raise m.SourceGone("the source instance no longer exists")
    try:
        manifest = await push(await remote_for(ctx, source), roots, await bucket_for(ctx, row, source), prefix_of(row))
    except SyncError as exc:
        raise _sync_failure(exc) from exc
    return m.Done(f"copied {len(manifest.files)} file(s), {manifest.total_bytes} bytes, to the bucket",
                  changes={"manifest": manifest.to_json()})


async def restoring(ctx: StepContext, migration_id: int) -> m.Done:
    row, source, target = await _load(ctx, migration_id)
    roots = roots_of(row)
    if not roots:
        return m.Done("config-only migration: nothing to copy")
    try:
        await pull(await remote_for(ctx, target), await bucket_for(ctx, row, source), prefix_of(row), roots)
    except SyncError as exc:
        raise _sync_failure(exc) from exc
    return m.Done("copied the bucket to the target")


async def verifying(ctx: StepContext, migration_id: int) -> m.Done:
    row, _, target = await _load(ctx, migration_id)
    if roots_of(row):
        if not row.manifest:
            raise m.InvariantBroken("no manifest was recorded by the syncing step")
        manifest = Manifest.from_json(row.manifest)
        try:
            await verify(await remote_for(ctx, target), manifest)
        except SyncError as exc:
            if exc.retryable:
                raise m.TryAgain(str(exc)) from exc
            raise m.VerificationFailed(str(exc)) from exc
        log = f"{len(manifest.files)} file(s) match the source's checksums"
    else:
        log = "config-only migration: nothing to verify"
    return m.Done(log, changes={"verified_at": ctx.now})


IDENTITY = ("template_id", "health_check_url", "auto_repair")


async def switching(ctx: StepContext, migration_id: int) -> m.Done:
    row, source, target = await _load(ctx, migration_id)
    if row.verified_at is None:
        raise m.InvariantBroken("the target was not verified")
    log = []
    if source is not None and source.status == InstanceStatus.RUNNING.value:
        await _act(ctx, row, source, "stop")
        log.append(f"stopped {source.name} ({source.provider_instance_id})")

    async def cut_over(session: AsyncSession, mig: Migration, now: datetime) -> None:
        old = await session.get(Instance, mig.source_instance_id) if mig.source_instance_id else None
        new = await session.get(Instance, mig.target_instance_id)
        if old is None:
            return
        if mig.identity is None:
            mig.identity = json.dumps({k: getattr(old, k) for k in IDENTITY})
        for key in IDENTITY:
            setattr(new, key, getattr(old, key))
        new.name = old.name
        old.auto_repair = False  # the stopped source must not be "repaired" back to life
        old.replaced_by_id = new.id
        old.updated_at = new.updated_at = now
        mig.switched_at = now
        mig.rollback_until = now + _window(mig)
        await audit.record(session, (await on_behalf_of(session, mig.workspace_id, mig.user_id)).audit_key,
                           "migration.switch", ACTOR, target_type="migration", target_id=mig.id, at=now,
                           before={"instance": old.id}, after={"instance": new.id, "rollback_until": mig.rollback_until})

    log.append(f"{target.name} is now served by {target.provider} {target.instance_type} ({target.region})")
    return m.Done("; ".join(log), apply=cut_over)


def _window(mig: Migration):
    from datetime import timedelta

    return timedelta(seconds=mig.rollback_window_seconds)


async def cleaning_up(ctx: StepContext, migration_id: int) -> m.Done | m.Wait:
    row, source, target = await _load(ctx, migration_id)
    if row.verified_at is None or row.switched_at is None or target is None:
        raise m.InvariantBroken("the source is deleted only after the target was verified and switched to")
    if row.rollback_until is not None and ctx.now < row.rollback_until:
        return m.Wait(row.rollback_until, f"the old instance is kept until {row.rollback_until:%Y-%m-%d %H:%M} UTC "
                                          "(roll back until then)")
    # Marked first: from now on a rollback is refused (the source is going away).
    async with ctx.sessions() as session, session.begin():
        await session.execute(update(Migration).where(Migration.id == row.id, Migration.state == m.CLEANING_UP,
                                                      Migration.source_deleted_at.is_(None))
                              .values(source_deleted_at=ctx.now))
    if source is None or source.status in GONE or source.status == InstanceStatus.TERMINATING.value:
        return m.Done("the old instance is already gone")
    await _refresh(ctx, source.binding_id)
    _, source, _ = await _load(ctx, migration_id)
    if source.status not in GONE and source.status != InstanceStatus.TERMINATING.value:
        await _act(ctx, row, source, "delete")
    return m.Done(f"deleted the old instance {source.name} ({source.provider_instance_id})")


async def rolling_back(ctx: StepContext, migration_id: int) -> m.Done | m.Wait:
    row, source, target = await _load(ctx, migration_id)
    log = []
    # A failed target may still exist at the provider (a boot that ended in error): deleted too.
    ended = (InstanceStatus.TERMINATED.value, InstanceStatus.TERMINATING.value)
    if target is not None and target.status not in ended:
        if target.provider_instance_id is None and target.status == LAUNCHING:
            await _refresh(ctx, target.binding_id)  # adopts a launch whose answer was lost, or fails it
            _, _, target = await _load(ctx, migration_id)
        if target.provider_instance_id is None and target.status not in GONE:
            raise m.TryAgain("waiting to learn whether the target's launch created an instance")
        if target.provider_instance_id is not None and target.status not in ended:
            await _act(ctx, row, target, "delete")
            log.append(f"terminated the target {target.provider_instance_id}")

    async def restore_identity(session: AsyncSession, mig: Migration, now: datetime) -> None:
        old = await session.get(Instance, mig.source_instance_id) if mig.source_instance_id else None
        new = await session.get(Instance, mig.target_instance_id) if mig.target_instance_id else None
        if mig.identity is not None and old is not None:
            for key, value in json.loads(mig.identity).items():
                setattr(old, key, value)
            old.replaced_by_id = None
            old.updated_at = now
        if new is not None:
            new.auto_repair = False

    if source is not None and row.source_was_running and source.status not in GONE:
        await _refresh(ctx, source.binding_id)
        _, source, _ = await _load(ctx, migration_id)
        if source.status == InstanceStatus.STOPPING.value:
            return m.Wait(ctx.now + m.POLL_EVERY, "waiting for the source to finish stopping before it starts again")
        if source.status == InstanceStatus.STOPPED.value:
            await _act(ctx, row, source, "start")
            log.append(f"started {source.name} again")
    return m.Done("; ".join(log) or "nothing to undo", apply=restore_identity)


ACTIONS = {
    m.PLANNED: planned, m.LAUNCHING_TARGET: launching_target, m.WAITING_READY: waiting_ready, m.SYNCING: syncing,
    m.RESTORING: restoring, m.VERIFYING: verifying, m.SWITCHING: switching, m.CLEANING_UP: cleaning_up,
    m.ROLLING_BACK: rolling_back,
}
