"""A migration's steps on the job queue: one task per step, each with its own time limit, all of
one migration under one lock and one queueing lock (``migration:<id>``): never two of its steps at
once, at most one waiting.

Running a step (``advance``):
1. claim the migration's lease and open the step's row (committed: a crash leaves it unfinished);
2. run the step (``actions.py``), under its own timeout, with no transaction open;
3. record the outcome and the next state (``machine.next_state``) in one transaction, guarded by
   the state and the lease: a user's rollback in the meantime wins, this step's result is dropped;
4. queue the next step at once, or leave it to the fan-out at ``wake_at`` (waits, retries).

A worker killed anywhere in 2-3 leaves the state as it was: the fan-out (``queue_due``) runs the
same step again once its lease lapsed, and every step converges when run twice.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

import procrastinate
import procrastinate.exceptions
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import audit
from app.db.models import Instance, Migration, MigrationStep
from app.db.types import utcnow
from app.jobs.engine import defer_unique, time_limit
from app.jobs.resources import resources
from app.migration import machine as m
from app.migration.actions import ACTIONS, ACTOR, StepContext
from app.notifications.outbox import notify
from app.workspaces.scope import on_behalf_of

log = logging.getLogger(__name__)
blueprint = procrastinate.Blueprint()
MAX_LOG_CHARS = 20_000
FAN_OUT_SECONDS = 15


def unit(migration_id: int) -> str:
    return f"migration:{migration_id}"


async def before_recording(state: str, migration_id: int) -> None:
    """Test seam: called after a step's effects, before its completion is recorded (a worker
    killed exactly there is what the crash tests simulate by raising here)."""


async def advance(res, migration_id: int, expected_state: str) -> str | None:
    """Run the migration's current step once; returns the state it is in afterwards (None: not run)."""
    sessions = res.sessions
    now = utcnow()
    token = uuid.uuid4().hex
    async with sessions() as session:
        row = await session.get(Migration, migration_id)
        if row is None or row.state in m.FINAL:
            return row.state if row else None
        state = row.state
    if state != expected_state:  # queued for a state it left: run the one it is in
        await queue_step(migration_id, state)
        return state
    async with sessions() as session, session.begin():
        row = await session.get(Migration, migration_id)
        if row.state != state:
            return row.state
        attempts = row.step_attempts + 1  # read before the UPDATE, which also refreshes the loaded row
        claimed = await session.execute(
            update(Migration).where(Migration.id == migration_id, Migration.state == state,
                                    or_(Migration.lease_token.is_(None), Migration.lease_until < now))
            .values(lease_token=token, lease_until=now + timedelta(seconds=m.STEP_TIMEOUT_SECONDS[state] + 60),
                    step_attempts=Migration.step_attempts + 1,
                    step_deadline=Migration.step_deadline if state != m.WAITING_READY or row.step_deadline
                    else now + m.READY_WITHIN))
        if claimed.rowcount != 1:
            return state  # another worker holds it (or held it when it died: the lease lapses)
        step = MigrationStep(migration_id=migration_id, state=state, attempt=attempts, started_at=now)
        session.add(step)
        await session.flush()
        step_id = step.id
    ctx = StepContext(sessions, res.keyring, res.http, res.settings, now)
    try:
        try:
            async with asyncio.timeout(m.STEP_TIMEOUT_SECONDS[state]):
                result = await ACTIONS[state](ctx, migration_id)
        except TimeoutError:
            result = m.StepTimedOut(f"{state} did not finish within {m.STEP_TIMEOUT_SECONDS[state]:g} s")
        except m.StepError as exc:
            result = exc
        await before_recording(state, migration_id)
        return await _record(sessions, migration_id, state, token, step_id, attempts, result)
    except BaseException:
        # Not a step's outcome (a bug, the database gone, a kill): the state stays, the lease goes,
        # so the fan-out runs this step again.
        async with sessions() as session, session.begin():
            await session.execute(update(Migration).where(Migration.id == migration_id, Migration.lease_token == token)
                                  .values(lease_token=None, lease_until=None))
        raise


async def _record(sessions: async_sessionmaker[AsyncSession], migration_id: int, state: str, token: str,
                  step_id: int, attempts: int, result) -> str:
    now = utcnow()
    verdict = m.next_state(state, result, attempts, now)
    text = result.log if isinstance(result, (m.Done, m.Wait)) else f"{type(result).__name__}: {result}"
    async with sessions() as session, session.begin():
        row = await session.get(Migration, migration_id, with_for_update=True)
        step = await session.get(MigrationStep, step_id)
        step.finished_at = now
        step.log = (text or "")[-MAX_LOG_CHARS:]
        if row.state != state or row.lease_token != token:
            step.outcome = "superseded"  # a rollback the user asked for meanwhile decides
            if row.lease_token == token:
                row.lease_token, row.lease_until = None, None
            next_state = row.state
        else:
            step.outcome = verdict.outcome
            next_state = verdict.state
            row.lease_token, row.lease_until, row.updated_at = None, None, now
            row.wake_at = verdict.wake_at
            if isinstance(result, m.Done):
                for key, value in result.changes.items():
                    setattr(row, key, value)
                if result.apply is not None:
                    await result.apply(session, row, now)
            if verdict.state != state:
                row.state = verdict.state
                row.step_attempts = 0
                row.step_deadline = None
                if verdict.state == m.ROLLING_BACK:
                    row.error = text[:2000]
                    row.rollback_reason = row.rollback_reason or text[:2000]
                await on_entered(session, row, now)
    if next_state not in m.FINAL and (next_state != state or step.outcome == "superseded"):
        await queue_step(migration_id, next_state)
    return next_state


async def on_entered(session: AsyncSession, row: Migration, now) -> None:
    """Audit and notifications when a migration fails, finishes, or is rolled back."""
    if row.state in m.FINAL:
        row.active_source_id = None
        row.finished_at = now
    event = {m.DONE: "done", m.ROLLING_BACK: "fail", m.ROLLED_BACK: "rollback"}.get(row.state)
    if event is None:
        return
    await record_event(session, row, event, now, actor=ACTOR)


async def record_event(session: AsyncSession, row: Migration, event: str, now, *, actor: audit.Actor) -> None:
    scope = await on_behalf_of(session, row.workspace_id, row.user_id)
    source = await session.get(Instance, row.source_instance_id) if row.source_instance_id else None
    name = source.name if source else f"migration {row.id}"
    await audit.record(session, scope.audit_key, f"migration.{event}", actor, target_type="migration",
                       target_id=row.id, project=source.project_id if source else None, at=now,
                       after={"state": row.state, "source": row.source_instance_id,
                                                        "target": row.target_instance_id, "error": row.error})
    subjects = {
        "start": ("deployment_state", f"Migration of {name} started",
                  f"{name} is moving to {row.target_provider} {row.target_instance_type} ({row.target_region})."),
        "done": ("deployment_state", f"Migration of {name} finished",
                 f"{name} now runs on {row.target_provider} {row.target_instance_type} ({row.target_region})."),
        "fail": ("failure", f"Migration of {name} failed: rolling back", f"{row.error or 'the migration failed'}. "
                 "The target is being terminated and the source kept."),
        "cancel": ("failure", f"Migration of {name} is being rolled back", "Rolled back at your request."),
        "rollback": ("failure", f"Migration of {name} rolled back",
                     f"{name} runs where it was before. Reason: {row.rollback_reason or 'requested'}."),
    }
    event_type, subject, body = subjects[event]
    await notify(session, row.user_id, event_type, subject, body, dedupe_key=f"migration:{row.id}:{event}", now=now)


# -- tasks: one per step ---------------------------------------------------------------------------

TASKS: dict[str, procrastinate.tasks.Task] = {}


def _step_task(state: str) -> procrastinate.tasks.Task:
    async def run(context: procrastinate.JobContext, migration_id: int) -> str | None:
        return await advance(resources(context), migration_id, state)

    run.__name__ = f"step_{state}"
    task = blueprint.task(name=f"step_{state}", pass_context=True)(run)
    return time_limit(m.STEP_TIMEOUT_SECONDS[state] + 30)(task)


for _state in m.STEPS:
    TASKS[_state] = _step_task(_state)


async def queue_step(migration_id: int, state: str) -> int | None:
    return await defer_unique(TASKS[state], unit(migration_id), migration_id=migration_id)


async def queue_soon(migration_id: int, state: str) -> None:
    """From a request: queue the step now if this process's queue is open; else (a web process
    beside a separate worker) the fan-out queues it within ``FAN_OUT_SECONDS``."""
    try:
        await queue_step(migration_id, state)
    except (procrastinate.exceptions.AppNotOpen, procrastinate.exceptions.UnboundTaskError):
        # Not open, or (a web process that never loads the job registry) not even bound here.
        log.info("migration %s: the job queue is not open here; the fan-out will queue %s", migration_id, state)


async def queue_due(sessions: async_sessionmaker[AsyncSession], now=None) -> int:
    """Queue the step of every unfinished migration that is due: waits and retries whose time came,
    and steps whose worker died (their lease lapsed). A unit already waiting is not queued twice."""
    now = now or utcnow()
    async with sessions() as session:
        due = (await session.execute(select(Migration.id, Migration.state).where(
            Migration.state.not_in(m.FINAL), or_(Migration.wake_at.is_(None), Migration.wake_at <= now),
            or_(Migration.lease_token.is_(None), Migration.lease_until < now)).order_by(Migration.id))).all()
    queued = 0
    for migration_id, state in due:
        queued += await queue_step(migration_id, state) is not None
    return queued


@blueprint.task(name="fan_out", pass_context=True)
async def fan_out(context: procrastinate.JobContext, timestamp: int | None = None) -> int:
    return await queue_due(resources(context).sessions)


PERIODIC = ((fan_out, FAN_OUT_SECONDS),)
