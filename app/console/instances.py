"""Deployments: launch (intent first), start/stop/reboot/delete, with typed provider errors.

Every provider call follows three short steps, so no network call runs inside a transaction
and a crash between them leaves a row the reconciler can finish:
1. read and claim the row (or insert the launch intent) and commit;
2. call the provider with no transaction open;
3. write the result, guarded by the claim.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import audit
from app.console import signals
from app.console.bindings import build_provider, get_owned as get_owned_binding, provider_class
from app.console.errors import ConsoleError, NotFoundForUser
from app.console.quotas import take_slot
from app.console.spending_guard import ensure_spending_allowed
from app.db.models import Instance, InstanceEvent, Offer as OfferRow, ProviderBinding
from app.db.types import utcnow
from app.security.keyring import Keyring
from app.workspaces import projects
from app.workspaces.scope import Owner, Scope, resolve
from providers import errors
from providers.base import Instance as ProviderInstance, InstanceStatus, LaunchRequest, unsupported_reason

LAUNCHING = "launching"
"""Our own state before the provider has confirmed the launch (not a provider state)."""
FINAL_STATES = (InstanceStatus.TERMINATED.value, InstanceStatus.FAILED.value)
CLAIM_TTL = timedelta(minutes=5)
OPERATIONS = ("start", "stop", "reboot", "delete")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
# Errors after which the provider certainly did not create anything.
_DEFINITE_LAUNCH_FAILURES = (
    errors.InvalidCredentials, errors.InvalidRequest, errors.NoCapacity, errors.QuotaExceeded,
    errors.Unsupported, errors.RateLimited,
)


@dataclass(frozen=True)
class LaunchSpec:
    binding_id: int
    name: str
    instance_type: str
    region: str
    image: str = ""
    disk_gb: int | None = None
    ssh_public_key: str = ""
    spot: bool = False
    gpu_slug: str | None = None
    gpu_raw_name: str = ""
    gpu_count: Decimal = Decimal(0)
    offer_price_per_hour: Decimal | None = None
    template_id: int | None = None
    project_id: int | None = None
    """The organization's project it goes in (checked by ``projects.assignable`` at launch)."""

    def validate(self) -> LaunchSpec:
        if not _NAME.match(self.name or ""):
            raise ConsoleError("the name must be 1-63 letters, digits, dots, dashes or underscores")
        if not self.instance_type or not self.region:
            raise ConsoleError("choose an offer (instance type and region)")
        if self.disk_gb is not None and not 10 <= self.disk_gb <= 65536:
            raise ConsoleError("disk size must be between 10 and 65536 GB")
        if len(self.image) > 255:
            raise ConsoleError("the image name is too long")
        key = self.ssh_public_key.strip()
        if key and not re.match(r"^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp\d+|sk-\S+) [A-Za-z0-9+/=]+( .*)?$", key):
            raise ConsoleError("that does not look like an SSH public key (ssh-ed25519 AAAA... or ssh-rsa AAAA...)")
        return self


def spec_from_offer(offer: OfferRow, binding_id: int, name: str, image: str = "", disk_gb: int | None = None,
                    ssh_public_key: str = "") -> LaunchSpec:
    return LaunchSpec(
        binding_id=binding_id, name=name, instance_type=offer.instance_type, region=offer.region, image=image,
        disk_gb=disk_gb, ssh_public_key=ssh_public_key, spot=offer.spot, gpu_slug=offer.gpu_slug,
        gpu_raw_name=offer.gpu_raw_name, gpu_count=offer.gpu_count, offer_price_per_hour=offer.price_per_hour,
    )


def record_event(session: AsyncSession, row: Instance, status: str, raw: str = "", message: str | None = None,
                 at: datetime | None = None) -> None:
    at = at or utcnow()
    session.add(InstanceEvent(instance_id=row.id, status=status, raw_status=raw or "", message=message, at=at,
                              price_per_hour=row.provider_price_per_hour or row.offer_price_per_hour))


async def change_state(session: AsyncSession, row: Instance, status: str, *, source: str, raw: str = "",
                       message: str | None = None, at: datetime | None = None, failure: str | None = None,
                       error: str | None = None) -> None:
    """Move ``row`` to ``status``: store the event and announce the change (old and new state) to
    the subscribers of ``app.console.signals``, all in the caller's transaction."""
    at = at or utcnow()
    old = row.status
    row.status = status
    row.updated_at = at
    if status == InstanceStatus.TERMINATED.value:
        row.terminated_at = at
    record_event(session, row, status, raw, message=message, at=at)
    if old != status:
        await signals.emit(session, signals.StateChange(
            instance_id=row.id, user_id=row.user_id, instance_name=row.name, provider=row.provider,
            old_status=old, new_status=status, at=at, source=source, message=message, failure=failure,
            error=error))


def _reported_failure(remote: ProviderInstance) -> tuple[str | None, str | None]:
    """A failure the provider reports: a preempted spot instance, or its error state."""
    if remote.preempted:
        reported = f" (reported as {remote.raw_status})" if remote.raw_status else ""
        return signals.PREEMPTION, f"the provider took this spot instance back{reported}"
    if remote.status == InstanceStatus.FAILED:
        return signals.PROVIDER_FAILURE, f"the provider reports it as {remote.raw_status or 'failed'}"
    return None, None


async def apply_provider_state(session: AsyncSession, row: Instance, remote: ProviderInstance, at: datetime, *,
                               source: str = signals.SYNC) -> bool:
    """Copy what the provider reports; store an event when the state or the hourly price changed
    (events carry the price in force, so cost accrual sees a new rate from its time on).
    A state change is announced (``change_state``), with the failure when the provider reports one.
    Returns whether the state changed."""
    changed = row.status != remote.status.value
    repriced = remote.price_per_hour is not None and remote.price_per_hour != row.provider_price_per_hour
    if repriced:
        row.provider_price_per_hour = remote.price_per_hour
    row.raw_status = remote.raw_status or ""
    row.public_ip = remote.public_ip or row.public_ip
    if remote.ssh_host:  # the endpoint travels as one (a proxy's port means nothing on the direct host)
        row.ssh_host, row.ssh_port, row.ssh_user = remote.ssh_host, remote.ssh_port, remote.ssh_user
    row.last_synced_at = at
    if changed:
        failure, error = _reported_failure(remote)
        await change_state(session, row, remote.status.value, source=source, raw=remote.raw_status, at=at,
                           failure=failure, error=error)
    elif repriced:
        record_event(session, row, row.status, remote.raw_status,
                     message="the provider reports a new hourly price", at=at)
    return changed


def same_name(column, name: str):
    """A name compared the way a person reads it: case and surrounding spaces do not count."""
    return func.lower(func.trim(column)) == name.strip().lower()


_GONE = (InstanceStatus.TERMINATED.value, InstanceStatus.FAILED.value)


async def ensure_name_free(session: AsyncSession, owner: Owner, name: str) -> None:
    """A launch the user names must not take the name of one of their instances still around
    (a repair's replacement keeps its instance's name on purpose, so ``launch`` does not check)."""
    scope = await resolve(session, owner)
    taken = (await session.execute(select(Instance.id).where(
        Instance.workspace_id == scope.workspace_id, same_name(Instance.name, name), Instance.status.not_in(_GONE)).limit(1))).scalar()
    if taken is not None:
        raise ConsoleError(f"you already have an instance named {name.strip()!r}; choose another name")


async def get_owned(session: AsyncSession, owner: Owner, instance_id: int) -> Instance:
    scope = await resolve(session, owner)
    row = await session.get(Instance, instance_id)
    if row is None or not scope.sees(row):  # another workspace's, or another project's for a limited member
        raise NotFoundForUser("no such instance")
    return row


async def set_project(session: AsyncSession, owner: Owner, instance_id: int, project_id: int | None) -> Instance:
    """Move an instance to another project (or none); its costs from now on are that project's.
    The caller commits."""
    scope = await resolve(session, owner)
    row = await get_owned(session, scope, instance_id)
    scope.require("operate")
    project_id = await projects.assignable(session, scope, project_id)
    if project_id != row.project_id:
        await audit.record(session, scope.audit_key, "instance.project_changed",
                           await audit.actor_for(session, scope.user_id), target_type="instance", target_id=row.id,
                           project=project_id, before={"project": row.project_id}, after={"project": project_id})
        row.project_id = project_id
    return row


async def launch(
    sessions: async_sessionmaker[AsyncSession], keyring: Keyring, http: httpx.AsyncClient, owner: Owner,
    spec: LaunchSpec, *, after_provider_accepted=None, actor: audit.Actor | None = None,
    client_token: str | None = None, on_intent=None,
) -> Instance:
    """``actor``: who the audit log names (the user by default; auto-repair launches as itself).
    ``client_token``: the launch's idempotency token (a caller that may launch again after a crash,
    e.g. a migration, passes its own so the provider answers with the instance it already made);
    ``on_intent(session, row)`` runs in the intent's transaction (to point the caller's row at it)."""
    spec.validate()
    # 1. the intent, committed before the provider hears of it
    async with sessions() as session, session.begin():
        scope = await resolve(session, owner)
        binding = await get_owned_binding(session, scope, spec.binding_id)
        scope.require("operate")
        project_id = await projects.assignable(session, scope, spec.project_id)
        provider = build_provider(binding, keyring, http)
        now = utcnow()
        await ensure_spending_allowed(session, scope.workspace_id, now, "launch", project_id)
        # Holds the workspace's (and the project's) quota lock until this intent commits (app.console.quotas).
        await take_slot(session, scope.workspace_id, gpus=spec.gpu_count, hourly=spec.offer_price_per_hour,
                        action="launch", project_id=project_id)
        row = Instance(
            workspace_id=scope.workspace_id, user_id=scope.user_id, binding_id=binding.id, provider=binding.provider,
            client_token=client_token or uuid.uuid4().hex,
            name=spec.name, instance_type=spec.instance_type, region=spec.region, gpu_slug=spec.gpu_slug,
            gpu_raw_name=spec.gpu_raw_name, gpu_count=spec.gpu_count, image=spec.image, disk_gb=spec.disk_gb,
            ssh_public_key=spec.ssh_public_key.strip(), spot=spec.spot,
            offer_price_per_hour=spec.offer_price_per_hour, status=LAUNCHING, raw_status="", origin="computehub",
            template_id=spec.template_id, project_id=project_id, created_at=now, updated_at=now,
        )
        session.add(row)
        await session.flush()
        record_event(session, row, LAUNCHING, message="launch requested", at=now)
        if on_intent is not None:
            await on_intent(session, row)
        # The key used is part of the record: who launched what with which binding, at what price.
        await audit.record(session, scope.audit_key, "instance.launch", actor or await audit.actor_for(session, scope.user_id),
                           target_type="instance", target_id=row.id, project=row.project_id, at=now, after={
                               "name": row.name, "provider": row.provider, "key": binding.id, "key_label": binding.label,
                               "instance_type": row.instance_type, "region": row.region, "gpu": row.gpu_slug,
                               "gpu_count": row.gpu_count, "spot": row.spot,
                               "offer_price_per_hour": row.offer_price_per_hour, "template": row.template_id,
                               "project": row.project_id})
    request = LaunchRequest(
        name=spec.name, instance_type=spec.instance_type, region=spec.region, image=spec.image,
        disk_gb=spec.disk_gb, ssh_public_key=spec.ssh_public_key.strip(), spot=spec.spot,
        client_token=row.client_token,
    )
    # 2. the provider call, no transaction open
    try:
        remote = await provider.create_instance(request)
    except errors.ProviderError as exc:
        definite = isinstance(exc, _DEFINITE_LAUNCH_FAILURES)
        async with sessions() as session, session.begin():
            row = await session.get(Instance, row.id)
            row.last_error = _user_message(exc)
            row.updated_at = utcnow()
            if definite:  # nothing was created: the launch simply failed
                row.terminated_at = row.updated_at
                await change_state(session, row, InstanceStatus.FAILED.value, source=signals.CONSOLE,
                                   message=row.last_error, at=row.updated_at, failure=signals.LAUNCH_FAILED,
                                   error=row.last_error)
            # otherwise (timeout, 5xx) it may exist: stay `launching`, the reconciler will know
        raise ConsoleError(row.last_error) from exc
    if after_provider_accepted is not None:  # test hook: a crash exactly here must leak nothing
        await after_provider_accepted(remote)
    # 3. the result
    async with sessions() as session, session.begin():
        # Locked, so a sync adopting it at this moment either finished first or waits for us.
        row = await session.get(Instance, row.id, with_for_update=True)
        if row.provider_instance_id is None:  # the reconciler may have adopted it meanwhile
            row.provider_instance_id = remote.instance_id
            await apply_provider_state(session, row, remote, utcnow(), source=signals.CONSOLE)
        return row


def _user_message(exc: errors.ProviderError) -> str:
    return {
        "no_capacity": "the provider has no capacity for this offer right now; try another region or offer",
        "quota": "your account at the provider has reached its quota",
        "auth": "the provider refused your API key; check the binding in Settings",
        "rate_limited": "the provider is rate limiting requests; try again in a minute",
        "timeout": "the provider did not answer in time",
        "unavailable": "the provider is unavailable right now",
    }.get(exc.kind, f"the provider refused the request: {exc.message}")


async def _claim(sessions: async_sessionmaker[AsyncSession], scope: Scope, instance_id: int) -> tuple[Instance, ProviderBinding | None, str]:
    token = uuid.uuid4().hex
    now = utcnow()
    async with sessions() as session, session.begin():
        row = await get_owned(session, scope, instance_id)
        scope.require("operate")
        claimed = await session.execute(
            update(Instance)
            .where(Instance.id == row.id, or_(Instance.lock_token.is_(None), Instance.lock_expires_at < now))
            .values(lock_token=token, lock_expires_at=now + CLAIM_TTL)
        )
        if claimed.rowcount != 1:
            raise ConsoleError("another action on this instance is still running; try again in a moment")
        binding = await session.get(ProviderBinding, row.binding_id) if row.binding_id else None
        return row, binding, token


async def _release(session: AsyncSession, instance_id: int, token: str) -> Instance:
    row = await session.get(Instance, instance_id)
    if row.lock_token == token:
        row.lock_token = None
        row.lock_expires_at = None
    return row


def available_operations(row: Instance) -> dict[str, str | None]:
    """Operation -> None when possible now, else the reason it is greyed out."""
    try:
        cls = provider_class(row.provider)
    except Exception:  # noqa: BLE001 - an unknown provider leaves everything greyed out
        return {op: "this provider is not available" for op in OPERATIONS}
    reasons: dict[str, str | None] = {}
    for op in OPERATIONS:
        reason = unsupported_reason(cls, op) if op != "delete" else None
        if reason is None and row.binding_id is None:
            reason = "no provider key is bound for this instance"
        if reason is None:
            reason = _state_reason(op, row.status)
        reasons[op] = reason
    return reasons


def _state_reason(op: str, status: str) -> str | None:
    allowed = {
        "start": ("stopped",),
        "stop": ("running",),
        "reboot": ("running",),
        "delete": ("running", "stopped", "provisioning", "stopping", "failed", "unknown"),
    }[op]
    if status in allowed:
        return None
    if status == LAUNCHING:
        # The launch may still be in flight: deleting the row now would let it finish unseen.
        return "the provider has not confirmed the launch yet; wait a moment"
    return f"not possible while the instance is {status}"


async def perform(
    sessions: async_sessionmaker[AsyncSession], keyring: Keyring, http: httpx.AsyncClient, owner: Owner,
    instance_id: int, operation: str, *, actor: audit.Actor | None = None,
) -> Instance:
    """``actor``: who the audit log names (the user by default; the budget's hard limit stops as itself)."""
    if operation not in OPERATIONS:
        raise ConsoleError(f"unknown action {operation!r}")
    async with sessions() as session, session.begin():
        scope = await resolve(session, owner)
    row, binding, token = await _claim(sessions, scope, instance_id)
    try:
        reason = available_operations(row)[operation]
        if reason:
            raise ConsoleError(f"cannot {operation} {row.name}: {reason}")
        if operation == "start":  # starting bills again: a spent hard limit or a full quota refuses it
            # The row stays "stopped" until the provider answers, so two instances started at the
            # same instant can both pass the last slot; launches (an intent row) are exact.
            async with sessions() as session, session.begin():
                await ensure_spending_allowed(session, scope.workspace_id, utcnow(), f"start {row.name}", row.project_id)
                await take_slot(session, scope.workspace_id, gpus=row.gpu_count,
                                hourly=row.provider_price_per_hour or row.offer_price_per_hour, action=f"start {row.name}",
                                project_id=row.project_id)
        if binding is None:
            raise ConsoleError("no provider key is bound for this instance")
        provider = build_provider(binding, keyring, http)
        target = {"start": InstanceStatus.PROVISIONING, "stop": InstanceStatus.STOPPING,
                  "reboot": InstanceStatus.PROVISIONING, "delete": InstanceStatus.TERMINATING}[operation]
        try:
            if operation == "delete":
                if row.provider_instance_id:
                    await provider.terminate_instance(row.provider_instance_id)  # idempotent
            else:
                await getattr(provider, f"{operation}_instance")(row.provider_instance_id)
        except errors.ProviderError as exc:
            raise ConsoleError(_user_message(exc)) from exc
        async with sessions() as session, session.begin():
            fresh = await session.get(Instance, row.id)
            status = target.value if row.provider_instance_id else InstanceStatus.TERMINATED.value
            before = fresh.status
            await change_state(session, fresh, status, source=signals.CONSOLE, message=f"{operation} requested")
            await audit.record(session, scope.audit_key, f"instance.{operation}",
                               actor or await audit.actor_for(session, scope.user_id), target_type="instance", target_id=fresh.id,
                               project=fresh.project_id, before={"status": before, "name": fresh.name}, after={"status": status, "key": binding.id})
            return fresh
    finally:
        async with sessions() as session, session.begin():
            await _release(session, row.id, token)


async def list_instances(session: AsyncSession, owner: Owner, include_terminated: bool = False,
                         project_id: int | None = None) -> list[Instance]:
    """``project_id``: only that project's (one the scope may see, else a 404)."""
    scope = await resolve(session, owner)
    stmt = select(Instance).where(scope.visible(Instance))
    if project_id is not None:
        stmt = stmt.where(Instance.project_id == (await projects.get(session, scope, project_id)).id)
    if not include_terminated:
        stmt = stmt.where(Instance.status != InstanceStatus.TERMINATED.value)
    return list((await session.execute(stmt.order_by(Instance.created_at.desc(), Instance.id.desc()))).scalars())
