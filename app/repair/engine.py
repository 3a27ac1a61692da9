"""Check one instance and, when it is unhealthy and a repair is due, take one repair step.

The steps follow every console action (app/console/instances.py), so several workers are safe
and no network call runs inside a transaction:
1. claim the row (a conditional UPDATE of ``lock_token``): one check or repair per instance at
   a time, across workers and against the user's own actions;
2. ask the provider and the health endpoint, no transaction open;
3. store the check, apply the provider's state, decide; a repair attempt is booked (its number
   and when the next one is due) in this same commit, before the repair call, so a worker that
   dies during the call never makes an attempt twice;
4. the repair call (no transaction), then its ``RepairAction`` and the user's notification.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import audit
from app.workspaces.scope import on_behalf_of
from app.console.bindings import build_provider, provider_class
from app.console.errors import ConsoleError
from app.console import signals
from app.console.instances import CLAIM_TTL, LaunchSpec, apply_provider_state, change_state, launch
from app.console.overview import provider_display_name
from app.db.models import HealthCheck, Instance, InstanceEvent, ProviderBinding, RepairAction
from app.notifications.outbox import notify
from app.repair import policy
from app.repair.checks import (
    GONE, HEALTHY, TRANSITIONS, UNSETTLED, WAITING, Observation, Target, Verdict, judge, observe,
)
from app.security.keyring import Keyring
from app.settings import Settings
from providers import errors
from providers.base import InstanceStatus, Provider

OK = "ok"
REPAIRING = "repairing"
GAVE_UP = "gave_up"
STOP_REQUESTED = "stop requested"
DELETE_REQUESTED = "delete requested"
"""The event messages ``app.console.instances.perform`` stores: what the user asked for."""
_STOPPING_OR_STOPPED = (InstanceStatus.STOPPING.value, InstanceStatus.STOPPED.value)
# The provider will never do this step for this instance: replace it instead of waiting.
_REFUSALS = (errors.InvalidRequest, errors.NotFound, errors.Unsupported)


@dataclass(frozen=True)
class RepairContext:
    sessions: async_sessionmaker[AsyncSession]
    keyring: Keyring
    http: httpx.AsyncClient
    """For provider calls (endpoint probes use their own client, see probe.py)."""
    settings: Settings


@dataclass(frozen=True)
class Outcome:
    instance_id: int
    verdict: str | None = None
    action: str | None = None
    result: str | None = None
    skipped: str | None = None


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    attempt: int | None = None
    step: str | None = None
    gave_up: bool = False


@dataclass(frozen=True)
class StepResult:
    action: str
    ok: bool
    detail: str
    replacement_id: int | None = None
    old_deleted: bool = False


async def check_instance(ctx: RepairContext, instance_id: int, now: datetime) -> Outcome:
    token = await _claim(ctx.sessions, instance_id, now)
    if token is None:
        return Outcome(instance_id, skipped="another worker or action holds this instance")
    try:
        return await _check_claimed(ctx, instance_id, token, now)
    finally:
        async with ctx.sessions() as session, session.begin():
            await session.execute(update(Instance).where(Instance.id == instance_id, Instance.lock_token == token)
                                  .values(lock_token=None, lock_expires_at=None))


async def _claim(sessions: async_sessionmaker[AsyncSession], instance_id: int, now: datetime) -> str | None:
    token = uuid.uuid4().hex
    async with sessions() as session, session.begin():
        claimed = await session.execute(
            update(Instance)
            .where(Instance.id == instance_id, Instance.auto_repair.is_(True),
                   or_(Instance.lock_token.is_(None), Instance.lock_expires_at < now))
            .values(lock_token=token, lock_expires_at=now + CLAIM_TTL)
        )
    return token if claimed.rowcount == 1 else None


async def _check_claimed(ctx: RepairContext, instance_id: int, token: str, now: datetime) -> Outcome:
    async with ctx.sessions() as session, session.begin():
        row = await session.get(Instance, instance_id)
        binding = await session.get(ProviderBinding, row.binding_id) if row.binding_id else None
    provider, no_provider_reason = _provider(ctx, binding)
    if row.replaced_by_id is not None:  # replaced earlier, but deleting it had failed: try again
        return await _finish_replacement(ctx, row, provider, token, now)
    target = Target(row.id, row.provider_instance_id or "", row.status, row.health_check_url)
    observation = await observe(provider, target, no_provider_reason=no_provider_reason,
                                endpoint_timeout=ctx.settings.repair.endpoint_timeout_seconds)
    async with ctx.sessions() as session, session.begin():
        row = await session.get(Instance, instance_id)
        if row.lock_token != token:
            return Outcome(instance_id, skipped="the claim expired during the check")
        decision = await _record_check(session, ctx, row, observation, now)
    if decision.attempt is None:
        return Outcome(instance_id, decision.verdict.state, "give_up" if decision.gave_up else None)
    step = await _run_step(ctx, provider, no_provider_reason, row, decision.step)
    async with ctx.sessions() as session, session.begin():
        await _record_step(session, ctx, instance_id, decision, step, now)
    return Outcome(instance_id, decision.verdict.state, step.action, OK if step.ok else "failed")


def _provider(ctx: RepairContext, binding: ProviderBinding | None) -> tuple[Provider | None, str]:
    if binding is None:
        return None, "no provider key is bound to this instance any more"
    try:
        return build_provider(binding, ctx.keyring, ctx.http), ""
    except ConsoleError as exc:
        return None, str(exc)
    except Exception:  # noqa: BLE001 - an adapter that cannot load is "no answer", not a crashed job
        return None, "this provider's adapter is not available"


# ---- the check ---------------------------------------------------------------------------

async def _record_check(session: AsyncSession, ctx: RepairContext, row: Instance, observation: Observation,
                        now: datetime) -> Decision:
    await _apply_observation(session, row, observation, now)
    settings = ctx.settings.repair
    status = observation.provider_status
    verdict = judge(
        observation, now=now,
        state_since=await _state_since(session, row.id, status, now) if status in UNSETTLED + TRANSITIONS else now,
        stopped_on_request=status in _STOPPING_OR_STOPPED and await _stopped_on_request(session, row.id),
        endpoint_failures=await _endpoint_failures(session, row.id, observation.endpoint_ok, settings.endpoint_failures),
        endpoint_failures_needed=settings.endpoint_failures, unknown_grace=timedelta(seconds=settings.unknown_grace_seconds),
    )
    # The verdict's reason, unless the provider's own words already say it.
    repeats = verdict.state == HEALTHY or verdict.problem in (policy.FAILED, policy.GONE)
    detail = observation.detail if repeats else f"{observation.detail}; {verdict.reason}"
    session.add(HealthCheck(instance_id=row.id, at=now, healthy=verdict.state == HEALTHY, provider_status=status,
                            endpoint_ok=observation.endpoint_ok, detail=detail))
    return await _decide(session, ctx, row, verdict, now)


async def _apply_observation(session: AsyncSession, row: Instance, observation: Observation, now: datetime) -> None:
    if observation.remote is not None:
        await apply_provider_state(session, row, observation.remote, now, source=signals.REPAIR)
    elif observation.provider_status == GONE and row.status != InstanceStatus.TERMINATED.value:
        await change_state(session, row, InstanceStatus.TERMINATED.value, source=signals.REPAIR,
                           message="the provider no longer knows this instance", at=now)


async def _state_since(session: AsyncSession, instance_id: int, status: str, now: datetime) -> datetime:
    """When the current run of checks in this state (unknown and no answer count as one) began."""
    group = UNSETTLED if status in UNSETTLED else (status,)
    last_other = (await session.execute(select(func.max(HealthCheck.at)).where(
        HealthCheck.instance_id == instance_id, HealthCheck.provider_status.not_in(group)))).scalar()
    first = select(func.min(HealthCheck.at)).where(HealthCheck.instance_id == instance_id,
                                                   HealthCheck.provider_status.in_(group))
    if last_other is not None:
        first = first.where(HealthCheck.at > last_other)
    return (await session.execute(first)).scalar() or now


async def _endpoint_failures(session: AsyncSession, instance_id: int, ok: bool | None, needed: int) -> int:
    """Consecutive failed endpoint checks, this one included (0 when this one did not fail)."""
    if ok is not False:
        return 0
    previous = await session.execute(
        select(HealthCheck.endpoint_ok).where(HealthCheck.instance_id == instance_id)
        .order_by(HealthCheck.at.desc(), HealthCheck.id.desc()).limit(max(needed - 1, 0)))
    count = 1
    for earlier in previous.scalars():
        if earlier is not False:
            break
        count += 1
    return count


async def _stopped_on_request(session: AsyncSession, instance_id: int) -> bool:
    """A stop the user asked for after the instance last ran (insertion order, not clocks)."""
    async def last_event_id(*conditions) -> int | None:
        return (await session.execute(select(func.max(InstanceEvent.id)).where(
            InstanceEvent.instance_id == instance_id, *conditions))).scalar()

    stop = await last_event_id(InstanceEvent.message == STOP_REQUESTED)
    ran = await last_event_id(InstanceEvent.status == InstanceStatus.RUNNING.value)
    return stop is not None and (ran is None or stop > ran)


async def _decide(session: AsyncSession, ctx: RepairContext, row: Instance, verdict: Verdict,
                  now: datetime) -> Decision:
    if verdict.state == HEALTHY:
        if row.repair_state == REPAIRING:
            await _tell(session, ctx, row, "repair", f"Auto-repair: {row.name} is healthy again",
                        f"{row.name} at {provider_display_name(row.provider)} is healthy again after "
                        f"{_attempts(row.repair_attempts)} ({verdict.reason}).",
                        f"repair-recovered:{row.id}:{now.isoformat()}", now)
        row.repair_state, row.repair_attempts, row.next_repair_at = OK, 0, None
        return Decision(verdict)
    if verdict.state == WAITING or row.repair_state == GAVE_UP:
        return Decision(verdict)
    if row.repair_state == REPAIRING and row.next_repair_at is not None and now < row.next_repair_at:
        return Decision(verdict)  # backing off
    attempts = row.repair_attempts if row.repair_state == REPAIRING else 0
    if attempts >= ctx.settings.repair.max_attempts:
        await _give_up(session, ctx, row, verdict, now)
        return Decision(verdict, gave_up=True)
    attempt = attempts + 1
    row.repair_state, row.repair_attempts = REPAIRING, attempt
    row.next_repair_at = now + policy.wait_after(attempt)
    try:
        cls = provider_class(row.provider)
    except Exception:  # noqa: BLE001 - unknown adapter: only a replacement could help
        cls = None
    return Decision(verdict, attempt, policy.choose_step(verdict.problem, cls))


async def _give_up(session: AsyncSession, ctx: RepairContext, row: Instance, verdict: Verdict, now: datetime) -> None:
    waited = policy.wait_after(row.repair_attempts)
    action = RepairAction(
        instance_id=row.id, attempt=row.repair_attempts, at=now, action="give_up", result="failed",
        detail=f"still unhealthy {int(waited.total_seconds() // 60)} min after attempt {row.repair_attempts} "
               f"({verdict.reason}): auto-repair stopped trying")
    session.add(action)
    await session.flush()
    row.repair_state, row.next_repair_at = GAVE_UP, None
    await _tell(session, ctx, row, "failure", f"Auto-repair gave up on {row.name}",
                f"{row.name} at {provider_display_name(row.provider)} is still unhealthy ({verdict.reason}) after "
                f"{_attempts(row.repair_attempts)}. Auto-repair has stopped trying: please have a look.",
                f"repair-gave-up:{row.id}:{action.id}", now)


# ---- the repair step ---------------------------------------------------------------------

async def _run_step(ctx: RepairContext, provider: Provider | None, no_provider_reason: str, row: Instance,
                    step: str) -> StepResult:
    if provider is None:
        return StepResult(step, False, f"cannot {step} it: {no_provider_reason}")
    refused = ""
    if step in ("start", "reboot"):
        try:
            await getattr(provider, f"{step}_instance")(row.provider_instance_id)
        except _REFUSALS as exc:
            refused = f"the provider refused to {step} it ({exc.kind}); "
        except errors.ProviderError as exc:
            return StepResult(step, False, f"the provider did not {step} it ({exc.kind})")
        else:
            return StepResult(step, True, f"{step} accepted by the provider")
    return await _replace(ctx, provider, row, refused)


async def _replace(ctx: RepairContext, provider: Provider, row: Instance, prefix: str) -> StepResult:
    """A new instance from the same spec on the same key; then the old one is deleted."""
    if not row.instance_type or not row.region or row.binding_id is None:
        return StepResult("replace", False, f"{prefix}cannot launch a replacement: the instance's type or region "
                                            f"is not known")
    spec = LaunchSpec(
        binding_id=row.binding_id, name=row.name, instance_type=row.instance_type, region=row.region,
        image=row.image, disk_gb=row.disk_gb, ssh_public_key=row.ssh_public_key, spot=row.spot,
        gpu_slug=row.gpu_slug, gpu_raw_name=row.gpu_raw_name, gpu_count=row.gpu_count,
        offer_price_per_hour=row.offer_price_per_hour, template_id=row.template_id, project_id=row.project_id,
    )
    try:
        async with ctx.sessions() as session:
            owner = await on_behalf_of(session, row.workspace_id, row.user_id)
        new = await launch(ctx.sessions, ctx.keyring, ctx.http, owner, spec, actor=audit.AUTO_REPAIR)
    except ConsoleError as exc:
        return StepResult("replace", False, f"{prefix}launching a replacement failed: {exc}")
    deleted, note = await _delete_old(provider, row)
    return StepResult("replace", True, f"{prefix}replaced by #{new.id}{note}", replacement_id=new.id,
                      old_deleted=deleted)


async def _delete_old(provider: Provider | None, row: Instance) -> tuple[bool, str]:
    if row.status == InstanceStatus.TERMINATED.value or not row.provider_instance_id:
        return True, ""
    if provider is None:
        return False, "; the old instance could not be deleted yet (no usable key)"
    try:
        await provider.terminate_instance(row.provider_instance_id)  # idempotent
    except errors.ProviderError as exc:
        return False, f"; deleting the old instance failed ({exc.kind}): retried at the next check"
    return True, "; the old instance is being deleted"


async def _mark_deleting(session: AsyncSession, row: Instance, now: datetime) -> None:
    row.auto_repair = False  # its replacement is watched now
    row.next_repair_at = None
    if row.status != InstanceStatus.TERMINATED.value:
        before = row.status
        await change_state(session, row, InstanceStatus.TERMINATING.value, source=signals.REPAIR,
                           message=f"auto-repair: deleting it, replaced by #{row.replaced_by_id}", at=now)
        await _audit(session, row, "instance.delete", before, now, replaced_by=row.replaced_by_id)


async def _audit(session: AsyncSession, row: Instance, action: str, before: str, now: datetime, **after) -> None:
    """What auto-repair did to an instance goes in its workspace's audit log like a person's action."""
    scope = await on_behalf_of(session, row.workspace_id, row.user_id)
    await audit.record(session, scope.audit_key, action, audit.AUTO_REPAIR, target_type="instance", target_id=row.id,
                       project=row.project_id, before={"status": before, "name": row.name}, after={"status": row.status, **after}, at=now)


async def _record_step(session: AsyncSession, ctx: RepairContext, instance_id: int, decision: Decision,
                       step: StepResult, now: datetime) -> None:
    row = await session.get(Instance, instance_id)
    action = RepairAction(instance_id=row.id, attempt=decision.attempt, at=now, action=step.action,
                          result=OK if step.ok else "failed", detail=step.detail,
                          replacement_instance_id=step.replacement_id)
    session.add(action)
    if step.ok and step.action in ("start", "reboot"):
        before = row.status
        await change_state(session, row, InstanceStatus.PROVISIONING.value, source=signals.REPAIR,
                           message=f"auto-repair: {step.action} requested (attempt {decision.attempt})", at=now)
        await _audit(session, row, f"instance.{step.action}", before, now, attempt=decision.attempt)
    if step.replacement_id is not None:
        new = await session.get(Instance, step.replacement_id)
        row.replaced_by_id = new.id
        # The incident goes on with the replacement: same endpoint, same attempt count and backoff.
        new.auto_repair, new.health_check_url = True, row.health_check_url
        new.repair_state, new.repair_attempts, new.next_repair_at = REPAIRING, row.repair_attempts, row.next_repair_at
        if step.old_deleted:
            await _mark_deleting(session, row, now)
    await session.flush()
    verb = {"start": "restarted", "reboot": "rebooted", "replace": "replaced"}[step.action]
    outcome = "" if step.ok else "The step failed: "
    await _tell(session, ctx, row, "repair",
                f"Auto-repair: {row.name} {verb if step.ok else f'could not be {verb}'} "
                f"(attempt {decision.attempt} of {ctx.settings.repair.max_attempts})",
                f"{row.name} at {provider_display_name(row.provider)}: {decision.verdict.reason}. "
                f"{outcome}{step.detail}.", f"repair-action:{action.id}", now)


async def _finish_replacement(ctx: RepairContext, row: Instance, provider: Provider | None, token: str,
                              now: datetime) -> Outcome:
    deleted, _ = await _delete_old(provider, row)
    if deleted:
        async with ctx.sessions() as session, session.begin():
            fresh = await session.get(Instance, row.id)
            if fresh.lock_token == token:
                await _mark_deleting(session, fresh, now)
    return Outcome(row.id, action="delete_replaced", result=OK if deleted else "failed")


# ---- helpers -----------------------------------------------------------------------------

async def _tell(session: AsyncSession, ctx: RepairContext, row: Instance, event_type: str, subject: str,
                text: str, dedupe_key: str, now: datetime) -> None:
    link = f"{ctx.settings.web.base_url.rstrip('/')}/console/instances/{row.id}"
    await notify(session, row.user_id, event_type, subject, f"{text}\n\n{link}", dedupe_key=dedupe_key,
                 telegram_enabled=ctx.settings.telegram.enabled, now=now)


def _attempts(n: int) -> str:
    return f"{n} repair attempt{'' if n == 1 else 's'}"
