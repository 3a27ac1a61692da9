"""Keep deployments in sync with the providers, and reconcile launches (no leaked instances).

For each binding: read our rows, ask the provider what it runs (no transaction open), then in
one short transaction:
- update the state of every known instance, storing an event per change and announcing it
  (``app.console.signals``: old and new state, and the failure when the provider reports one);
- adopt a provider instance that carries the client token of one of our unfinished launches
  (the worker died after the provider accepted the launch and before we recorded it); where the
  provider's list does not carry tokens, an instance whose name is that of exactly one unfinished
  launch is that launch, and a launch not found is "unknown, still checking", never failed;
- record instances the provider runs that ComputeHub did not create, as ``discovered``;
- mark instances the provider no longer knows as terminated.
A lease per binding keeps several workers from syncing the same binding at once.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.console.bindings import build_provider
from app.console.errors import ConsoleError
from app.console import signals
from app.console.instances import FINAL_STATES, LAUNCHING, apply_provider_state, change_state, record_event
from app.db.models import Instance, ProviderBinding
from app.db.types import utcnow
from app.services import leases
from app.security.keyring import Keyring
from providers import errors
from providers.base import Instance as ProviderInstance, InstanceStatus
from providers.gpus import resolve_gpu

log = logging.getLogger(__name__)
LAUNCH_GRACE = timedelta(minutes=10)
"""A launch with no provider instance after this long never reached the provider (where the
provider's list shows every instance's launch token; see ``Provider.LISTS_LAUNCH_TOKENS``)."""
NEVER_REACHED = "the launch never reached the provider"
OUTCOME_UNKNOWN = ("the provider does not say which instance a launch created, and none with this name "
                   "is listed: unknown, still checking")
SYNC_LEASE_TTL = timedelta(seconds=30)
"""Renewed while the sync runs: a worker killed mid-sync holds its binding back this long at most."""


@dataclass
class SyncReport:
    binding_id: int
    updated: int = 0
    adopted: int = 0
    discovered: int = 0
    gone: int = 0
    failed_launches: int = 0
    error: str | None = None
    events: list[str] = field(default_factory=list)


async def sync_binding(
    sessions: async_sessionmaker[AsyncSession], keyring: Keyring, http: httpx.AsyncClient, binding_id: int,
    now: datetime | None = None,
) -> SyncReport:
    report = SyncReport(binding_id)
    lease = f"sync:binding:{binding_id}"
    # A holder per call, not per process: the scheduler, "Sync now" and the console's poll may
    # run in one process, and two syncs at once would record a discovered instance twice.
    holder = f"{leases.WORKER_ID}:{uuid.uuid4().hex[:8]}"
    async with leases.held(sessions, lease, SYNC_LEASE_TTL, holder=holder) as mine:
        if not mine:
            report.error = "another worker is syncing this binding"
            return report
        await _sync_locked(sessions, keyring, http, binding_id, now or utcnow(), report)
    return report


async def _sync_locked(sessions, keyring, http, binding_id, now, report: SyncReport) -> None:
    async with sessions() as session:
        binding = await session.get(ProviderBinding, binding_id)
        if binding is None or binding.status in ("disabled", "invalid"):
            return
        try:
            provider = build_provider(binding, keyring, http)
        except ConsoleError as exc:
            report.error = str(exc)
            return
        known = {
            r.provider_instance_id
            for r in (await session.execute(select(Instance).where(
                Instance.binding_id == binding_id, Instance.provider_instance_id.is_not(None),
                Instance.status.not_in(FINAL_STATES)))).scalars()
        }
    try:
        remote = {i.instance_id: i for i in await provider.list_instances()}
        # Instances we know but the list no longer shows: ask for each one (some lists omit stopped ones).
        missing_checked: dict[str, ProviderInstance | None] = {}
        for instance_id in known - remote.keys():
            try:
                missing_checked[instance_id] = await provider.get_instance(instance_id)
            except errors.NotFound:
                missing_checked[instance_id] = None
    except errors.InvalidCredentials:
        async with sessions() as session, session.begin():
            row = await session.get(ProviderBinding, binding_id)
            row.status, row.status_message = "invalid", "the provider refused this key during a sync"
        report.error = "invalid key"
        return
    except errors.ProviderError as exc:
        report.error = f"{exc.kind}: {exc.message}"
        log.warning("sync of binding %s failed: %s", binding_id, exc)
        return
    async with sessions() as session, session.begin():
        await _apply(session, binding_id, remote, missing_checked, now, report,
                     lists_tokens=type(provider).LISTS_LAUNCH_TOKENS)


async def _apply(session: AsyncSession, binding_id: int, remote: dict[str, ProviderInstance],
                 missing_checked: dict[str, ProviderInstance | None], now: datetime, report: SyncReport, *,
                 lists_tokens: bool = True) -> None:
    binding = await session.get(ProviderBinding, binding_id)
    if binding is None:  # removed while we asked the provider
        return
    # Locked until this transaction ends: a launch recording its answer, or an action recording
    # its request, waits for this sync and then sees what it wrote (and the other way round).
    rows = list((await session.execute(select(Instance).where(Instance.binding_id == binding_id)
                                       .order_by(Instance.id).with_for_update())).scalars())
    # What the provider said predates any row written after this sync began: the newer write stays.
    newer = {r.id for r in rows if r.updated_at and r.updated_at > now}
    by_provider_id = {r.provider_instance_id: r for r in rows if r.provider_instance_id}
    pending = {r.client_token: r for r in rows if r.provider_instance_id is None and r.status == LAUNCHING}
    for instance_id, remote_instance in {**remote, **{k: v for k, v in missing_checked.items() if v}}.items():
        row = by_provider_id.get(instance_id)
        token = remote_instance.client_token or (None if lists_tokens else _token_by_name(pending, remote_instance))
        if row is None and token in pending:
            row = pending.pop(token)
            row.provider_instance_id = instance_id
            row.origin = "adopted"
            record_event(session, row, row.status, message="launch completed by the reconciler", at=now)
            report.adopted += 1
        elif row is None:
            if remote_instance.status == InstanceStatus.TERMINATED:
                continue
            row = _discovered(binding, remote_instance, now)
            session.add(row)
            await session.flush()
            record_event(session, row, remote_instance.status.value, remote_instance.raw_status,
                         message="found at the provider; not launched by ComputeHub", at=now)
            report.discovered += 1
            continue
        if row.lock_token and row.lock_expires_at and row.lock_expires_at > now:
            continue  # an action is in flight on this row: its own write wins
        if row.id in newer:
            continue
        if row.status in FINAL_STATES:
            continue
        if await apply_provider_state(session, row, remote_instance, now, source=signals.SYNC):
            report.updated += 1
    for instance_id, found in missing_checked.items():
        row = by_provider_id.get(instance_id)
        if found is None and row is not None and row.status not in FINAL_STATES and row.id not in newer:
            await change_state(session, row, InstanceStatus.TERMINATED.value, source=signals.SYNC,
                               message="the provider no longer knows this instance", at=now)
            report.gone += 1
    for row in pending.values():
        if now - row.created_at <= LAUNCH_GRACE:
            continue
        if not lists_tokens:
            # Its instance may be listed under a name we cannot tie to it: failing it would be a guess.
            if row.last_error != OUTCOME_UNKNOWN:
                row.last_error = OUTCOME_UNKNOWN
                record_event(session, row, row.status, message=OUTCOME_UNKNOWN, at=now)
            continue
        row.last_error = NEVER_REACHED
        row.terminated_at = now
        await change_state(session, row, InstanceStatus.FAILED.value, source=signals.SYNC, message=row.last_error,
                           at=now, failure=signals.LAUNCH_FAILED, error=row.last_error)
        report.failed_launches += 1


def _token_by_name(pending: dict[str, Instance], remote: ProviderInstance) -> str | None:
    """The launch a token-less instance is, when exactly one pending launch has its name (and type)."""
    name = (remote.name or "").strip().lower()
    matches = [token for token, row in pending.items()
               if row.name.strip().lower() == name
               and (not remote.instance_type or not row.instance_type or remote.instance_type == row.instance_type)]
    return matches[0] if len(matches) == 1 else None


def _discovered(binding: ProviderBinding, remote: ProviderInstance, now: datetime) -> Instance:
    gpu = resolve_gpu(remote.gpu_raw_name) if remote.gpu_raw_name else None
    return Instance(
        workspace_id=binding.workspace_id, user_id=binding.user_id, binding_id=binding.id, provider=binding.provider,
        project_id=binding.project_id,  # found under a project's key: that project's
        provider_instance_id=remote.instance_id, client_token=uuid.uuid4().hex,
        name=(remote.name or remote.instance_id)[:120], instance_type=remote.instance_type or "",
        region=remote.region or "", gpu_slug=gpu.slug if gpu else None, gpu_raw_name=remote.gpu_raw_name,
        gpu_count=remote.gpu_count, provider_price_per_hour=remote.price_per_hour, status=remote.status.value,
        raw_status=remote.raw_status or "", origin="discovered", public_ip=remote.public_ip,
        ssh_host=remote.ssh_host, ssh_port=remote.ssh_port, ssh_user=remote.ssh_user,
        created_at=remote.created_at or now, updated_at=now, last_synced_at=now,
    )


async def sync_all(sessions: async_sessionmaker[AsyncSession], keyring: Keyring, http: httpx.AsyncClient,
                   now: datetime | None = None) -> list[SyncReport]:
    async with sessions() as session:
        ids = list((await session.execute(select(ProviderBinding.id).where(
            ProviderBinding.status.not_in(("disabled", "invalid"))))).scalars())
    return [await sync_binding(sessions, keyring, http, binding_id, now) for binding_id in ids]
