"""The scheduled auto-repair checks: each instance with auto-repair on is checked (and repaired) once
per interval, one provider key's instances together (``batch.py``).

On the job queue the unit is one provider key (``check_binding``); ``run_repair_cycle`` runs the
same units in one call (tests, the CLI), under a lease so two cycles never overlap. The claim on
each row (engine.py) keeps a repair single even when a slow cycle outlives its lease.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import procrastinate
from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.billing.entitlements import workspace_entitlements
from app.db.models import Instance, InstanceEvent, Workspace
from app.db.types import utcnow
from app.console.jobs import binding_unit
from app.jobs.engine import defer_unique, time_limit
from app.jobs.resources import resources
from app.repair.batch import check_instances, guarded
from app.repair.engine import DELETE_REQUESTED, GAVE_UP, Outcome, RepairContext, check_instance
from app.security.keyring import Keyring
from app.services import leases
from app.workspaces.scope import Scope
from app.settings import Settings
from providers.base import InstanceStatus

log = logging.getLogger(__name__)
LEASE = "repair:cycle"
LEASE_TTL = timedelta(minutes=10)
FEATURE = "auto_repair"


@dataclass
class CycleReport:
    ran: bool
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def repairs(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.action]


async def watched_by_binding(session: AsyncSession, now: datetime, grace_days: int = 7, *,
                             binding_id: int | None = None) -> dict[int | None, list[int]]:
    """Instances to check now, by provider key (None: no key bound any more; one key's only when
    ``binding_id`` is given): auto-repair on, known to the provider, not deleted on request, and the
    owner's plan still includes auto-repair (a lapsed plan pauses it, it does not erase it)."""
    deleted_on_request = exists().where(InstanceEvent.instance_id == Instance.id,
                                        InstanceEvent.message == DELETE_REQUESTED)
    query = select(Instance.id, Instance.user_id, Instance.binding_id, Instance.workspace_id, Workspace.kind).join(
        Workspace, Workspace.id == Instance.workspace_id).where(
        Instance.auto_repair.is_(True),
        Instance.provider_instance_id.is_not(None),
        ~and_(Instance.status == InstanceStatus.TERMINATED.value, Instance.repair_state == GAVE_UP),
        ~deleted_on_request,
    ).order_by(Instance.id)
    if binding_id is not None:
        query = query.where(Instance.binding_id == binding_id)
    allowed: dict[tuple[int, int], bool] = {}
    groups: dict[int | None, list[int]] = {}
    for instance_id, user_id, bound_to, workspace_id, kind in (await session.execute(query)).all():
        # The plan of the instance's workspace: an organization's own, else its creator's.
        key = (workspace_id, user_id)
        if key not in allowed:
            scope = Scope(workspace_id, user_id, "owner", kind)
            allowed[key] = (await workspace_entitlements(session, scope, now, grace_days)).has(FEATURE)
        if allowed[key]:
            groups.setdefault(bound_to, []).append(instance_id)
    return groups


async def run_repair_cycle(sessions: async_sessionmaker[AsyncSession], keyring: Keyring, http: httpx.AsyncClient,
                           settings: Settings, *, now: datetime | None = None) -> CycleReport:
    now = now or utcnow()
    # A holder per call: two cycles in one process (tests, an embedded worker) must exclude each other too.
    holder = f"{leases.WORKER_ID}:{uuid.uuid4().hex[:8]}"
    if not await leases.acquire(sessions, LEASE, LEASE_TTL, holder=holder, now=now):
        return CycleReport(ran=False)
    try:
        async with sessions() as session:
            groups = await watched_by_binding(session, now, settings.billing.grace_days)
        context = RepairContext(sessions, keyring, http, settings)
        report = CycleReport(ran=True)
        # One key at a time, as the job queue runs them: a list call and at most one probe per instance.
        for binding_id, ids in groups.items():
            report.outcomes.extend(await _checked(context, binding_id, ids, now))
        report.outcomes.sort(key=lambda o: o.instance_id)
        return report
    finally:
        await leases.release(sessions, LEASE, holder=holder)


async def _checked(context: RepairContext, binding_id: int | None, ids: list[int], now: datetime) -> list[Outcome]:
    if binding_id is None:  # no key bound: nothing to batch, each check is its own
        return [await guarded(check_instance(context, i, now), i) for i in ids]
    try:
        return await check_instances(context, ids, now)
    except Exception:  # one key's unexpected error must not stop the other keys' checks
        log.exception("auto-repair: checking the instances of binding %s failed", binding_id)
        return [Outcome(i, skipped="the check failed unexpectedly") for i in ids]


# --- tasks: one check unit per provider key (and per instance with no key), fanned out once per interval --

blueprint = procrastinate.Blueprint()
FAN_OUT_TICK_SECONDS = 5
"""The fan-out's clock; it only defers checks once ``check_interval_seconds`` passed (a lease gate)."""


CHECK_RETRY = procrastinate.RetryStrategy(max_attempts=3, exponential_wait=2)
"""A unit that failed (the database refused a connection, say) runs again soon, not at the next interval:
its claims were released, a booked repair attempt is not made twice, a second healthy check is harmless."""


def check_unit(binding_id: int) -> str:
    return f"repair:binding:{binding_id}"


# Under the row claim's TTL (5 min): a unit is stopped before any claim it holds could expire,
# so a repair step never runs beside a user's action on the same instance.
@time_limit(240)
@blueprint.task(name="check_binding", pass_context=True, retry=CHECK_RETRY)
async def check_binding(context: procrastinate.JobContext, binding_id: int) -> dict[str, int]:
    """Check (and repair) every watched instance of one provider key: one ``list_instances`` call and one
    transaction for all their verdicts; the instances are read when the job runs, not when it was queued."""
    res = resources(context)
    now = utcnow()
    async with res.sessions() as session:
        ids = (await watched_by_binding(session, now, res.settings.billing.grace_days,
                                        binding_id=binding_id)).get(binding_id, [])
    ctx = RepairContext(res.sessions, res.keyring, res.http, res.settings)
    outcomes = await check_instances(ctx, ids, now)
    tally: dict[str, int] = {}
    for outcome in outcomes:
        if outcome.action:
            log.info("auto-repair: %s", outcome)
        label = outcome.action or ("skipped" if outcome.skipped else "checked")
        tally[label] = tally.get(label, 0) + 1
    return tally


@time_limit(120)
@blueprint.task(name="check_instance", pass_context=True)
async def check_one_instance(context: procrastinate.JobContext, instance_id: int) -> str:
    """An instance no provider key is bound to any more (its check calls no provider)."""
    res = resources(context)
    ctx = RepairContext(res.sessions, res.keyring, res.http, res.settings)
    outcome = await check_instance(ctx, instance_id, utcnow())
    if outcome.action:
        log.info("auto-repair: %s", outcome)
    return outcome.action or outcome.skipped or "healthy"


async def queue_checks(sessions: async_sessionmaker[AsyncSession], settings: Settings, now: datetime) -> int:
    """Defer this interval's check units: one per provider key with watched instances, one per watched
    instance without a key. Returns how many were deferred (a unit still waiting is not queued twice)."""
    async with sessions() as session:
        groups = await watched_by_binding(session, now, settings.billing.grace_days)
    deferred = 0
    for binding_id, ids in groups.items():
        if binding_id is None:
            for instance_id in ids:
                deferred += await defer_unique(check_one_instance, f"repair:{instance_id}",
                                               instance_id=instance_id) is not None
        else:
            # The key's lock: its checks run one at a time with its sync too (see console/jobs.py).
            deferred += await defer_unique(check_binding, check_unit(binding_id), binding_id=binding_id,
                                           runs_alone_with=binding_unit(binding_id)) is not None
    return deferred


@blueprint.task(name="fan_out", pass_context=True)
async def fan_out_checks(context: procrastinate.JobContext, timestamp: int | None = None) -> int:
    res = resources(context)
    now = utcnow()
    interval = timedelta(seconds=res.settings.repair.check_interval_seconds)
    # A gate, not a lock: whoever takes it first starts this interval's checks; it is never released.
    if not await leases.acquire(res.sessions, "repair:fan-out", interval, holder=uuid.uuid4().hex, now=now):
        return 0
    return await queue_checks(res.sessions, res.settings, now)


PERIODIC = ((fan_out_checks, FAN_OUT_TICK_SECONDS),)
