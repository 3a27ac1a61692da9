"""The scheduled auto-repair cycle: each instance with auto-repair on is checked (and repaired) once.

A lease keeps two workers from running the cycle at the same time; the claim on each row
(engine.py) keeps a repair single even when a slow cycle outlives its lease.
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

from app.billing.entitlements import entitlements
from app.db.models import Instance, InstanceEvent
from app.db.types import utcnow
from app.console.jobs import binding_unit
from app.jobs.engine import defer_unique, time_limit
from app.jobs.resources import resources
from app.repair.engine import DELETE_REQUESTED, GAVE_UP, Outcome, RepairContext, check_instance
from app.security.keyring import Keyring
from app.services import leases
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


async def watched_instances(session: AsyncSession, now: datetime, grace_days: int = 7) -> list[int]:
    """Instances to check now: auto-repair on, known to the provider, not deleted on request, and
    the owner's plan still includes auto-repair (a lapsed plan pauses it, it does not erase it)."""
    deleted_on_request = exists().where(InstanceEvent.instance_id == Instance.id,
                                        InstanceEvent.message == DELETE_REQUESTED)
    rows = await session.execute(
        select(Instance.id, Instance.user_id).where(
            Instance.auto_repair.is_(True),
            Instance.provider_instance_id.is_not(None),
            ~and_(Instance.status == InstanceStatus.TERMINATED.value, Instance.repair_state == GAVE_UP),
            ~deleted_on_request,
        ).order_by(Instance.id)
    )
    allowed: dict[int, bool] = {}
    ids = []
    for instance_id, user_id in rows.all():
        if user_id not in allowed:
            allowed[user_id] = (await entitlements(session, user_id, now, grace_days)).has(FEATURE)
        if allowed[user_id]:
            ids.append(instance_id)
    return ids


async def run_repair_cycle(sessions: async_sessionmaker[AsyncSession], keyring: Keyring, http: httpx.AsyncClient,
                           settings: Settings, *, now: datetime | None = None) -> CycleReport:
    now = now or utcnow()
    # A holder per call: two cycles in one process (tests, an embedded worker) must exclude each other too.
    holder = f"{leases.WORKER_ID}:{uuid.uuid4().hex[:8]}"
    if not await leases.acquire(sessions, LEASE, LEASE_TTL, holder=holder, now=now):
        return CycleReport(ran=False)
    try:
        async with sessions() as session:
            ids = await watched_instances(session, now, settings.billing.grace_days)
        context = RepairContext(sessions, keyring, http, settings)
        report = CycleReport(ran=True)
        # One at a time: a check is a provider call and at most one short probe.
        for instance_id in ids:
            try:
                report.outcomes.append(await check_instance(context, instance_id, now))
            except Exception:  # one instance's unexpected error must not stop the others' checks
                log.exception("auto-repair: checking instance %s failed", instance_id)
                report.outcomes.append(Outcome(instance_id, skipped="the check failed unexpectedly"))
        return report
    finally:
        await leases.release(sessions, LEASE, holder=holder)


# --- tasks: one check per watched instance, fanned out once per check interval -------------------

blueprint = procrastinate.Blueprint()
FAN_OUT_TICK_SECONDS = 5
"""The fan-out's clock; it only defers checks once ``check_interval_seconds`` passed (a lease gate)."""


@time_limit(120)
@blueprint.task(name="check_instance", pass_context=True)
async def check_one_instance(context: procrastinate.JobContext, instance_id: int) -> str:
    res = resources(context)
    ctx = RepairContext(res.sessions, res.keyring, res.http, res.settings)
    outcome = await check_instance(ctx, instance_id, utcnow())
    if outcome.action:
        log.info("auto-repair: %s", outcome)
    return outcome.action or outcome.skipped or "healthy"


@blueprint.task(name="fan_out", pass_context=True)
async def fan_out_checks(context: procrastinate.JobContext, timestamp: int | None = None) -> int:
    res = resources(context)
    now = utcnow()
    interval = timedelta(seconds=res.settings.repair.check_interval_seconds)
    # A gate, not a lock: whoever takes it first starts this interval's checks; it is never released.
    if not await leases.acquire(res.sessions, "repair:fan-out", interval, holder=uuid.uuid4().hex, now=now):
        return 0
    async with res.sessions() as session:
        ids = await watched_instances(session, now, res.settings.billing.grace_days)
        bindings = dict((await session.execute(select(Instance.id, Instance.binding_id)
                                                .where(Instance.id.in_(ids)))).all()) if ids else {}
    deferred = 0
    for instance_id in ids:
        # One provider key's calls run one at a time (with its sync too): see console/jobs.py.
        binding_id = bindings.get(instance_id)
        deferred += await defer_unique(check_one_instance, f"repair:{instance_id}", instance_id=instance_id,
                                       runs_alone_with=binding_unit(binding_id) if binding_id else None) is not None
    return deferred


PERIODIC = ((fan_out_checks, FAN_OUT_TICK_SECONDS),)
