"""Check several instances of one provider key in one pass (the check unit of the job queue).

The same four steps as ``engine.check_instance``, each done once for the whole batch instead of
once per instance:
1. one conditional UPDATE claims every row that is free (the others are skipped, as one by one)
   and returns what the check needs to know of each;
2. one ``list_instances`` answers for all of them (``checks.observe_many``), no transaction open;
3. one transaction stores every check and verdict, books the repair attempts that are due, and
   releases the claim of each instance no repair step follows;
4. each booked repair step then runs on its own, with its own commit, exactly as one by one.

A batch that fails unexpectedly while storing its verdicts is checked again one instance at a
time, so one instance's error never stops the others' checks.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy import Row, or_, select, update

from app.console.instances import CLAIM_TTL
from app.db.models import Instance, ProviderBinding
from app.repair.checks import Target, observe_many
from app.repair.engine import (
    OK, Decision, Outcome, RepairContext, _finish_replacement, _provider, _record_check, _record_step, _run_step,
    check_instance,
)

log = logging.getLogger(__name__)
_HELD = "another worker or action holds this instance"
MAX_BATCH = 500
"""Instances checked in one pass (one list call, one transaction): well below any database's bound parameters."""


async def check_instances(ctx: RepairContext, instance_ids: list[int], now: datetime) -> list[Outcome]:
    """Check (and repair) these instances, which share one provider key; outcomes in the same order."""
    if len(instance_ids) < 2:
        return [await check_instance(ctx, i, now) for i in instance_ids]
    if len(instance_ids) > MAX_BATCH:  # bounded statements and transactions, whatever a key holds
        return [o for start in range(0, len(instance_ids), MAX_BATCH)
                for o in await check_instances(ctx, instance_ids[start:start + MAX_BATCH], now)]
    token = uuid.uuid4().hex
    claimed, bindings = await _claim_all(ctx, instance_ids, token, now)
    released: set[int] = set()
    try:
        outcomes = await _check_claimed(ctx, claimed, bindings, token, now, released) if claimed else {}
    finally:
        await _release(ctx, [r.id for r in claimed if r.id not in released], token)
    return [outcomes.get(i) or Outcome(i, skipped=_HELD) for i in instance_ids]


async def _claim_all(ctx: RepairContext, instance_ids: list[int], token: str,
                     now: datetime) -> tuple[list[Row], dict[int, ProviderBinding]]:
    """Claim the free rows; returns what the check needs to know of each (read in the same
    statement) and their provider keys."""
    async with ctx.sessions() as session, session.begin():
        claimed = (await session.execute(
            update(Instance)
            .where(Instance.id.in_(instance_ids), Instance.auto_repair.is_(True),
                   or_(Instance.lock_token.is_(None), Instance.lock_expires_at < now))
            .values(lock_token=token, lock_expires_at=now + CLAIM_TTL)
            .returning(Instance.id, Instance.binding_id, Instance.provider_instance_id, Instance.status,
                       Instance.health_check_url, Instance.replaced_by_id)
        )).all()
        binding_ids = {r.binding_id for r in claimed if r.binding_id}
        bindings = {b.id: b for b in (await session.execute(
            select(ProviderBinding).where(ProviderBinding.id.in_(binding_ids)))).scalars()} if binding_ids else {}
    return sorted(claimed, key=lambda r: r.id), bindings


async def _release(ctx: RepairContext, instance_ids: list[int], token: str) -> None:
    if instance_ids:
        async with ctx.sessions() as session, session.begin():
            await session.execute(update(Instance).where(Instance.id.in_(instance_ids), Instance.lock_token == token)
                                  .values(lock_token=None, lock_expires_at=None))


async def _check_claimed(ctx: RepairContext, rows: list[Row], bindings: dict[int, ProviderBinding], token: str,
                         now: datetime, released: set[int]) -> dict[int, Outcome]:
    outcomes: dict[int, Outcome] = {}
    for binding_id in sorted({r.binding_id or 0 for r in rows}):  # normally one: a unit is one key's instances
        group = [r for r in rows if (r.binding_id or 0) == binding_id]
        provider, no_provider_reason = _provider(ctx, bindings.get(binding_id))
        for row in [r for r in group if r.replaced_by_id is not None]:  # replaced earlier, deleting it had failed
            outcomes[row.id] = await guarded(_finish_replacement(ctx, row, provider, token, now), row.id)
        pending = [r for r in group if r.replaced_by_id is None]
        try:
            observations = await observe_many(
                provider, [Target(r.id, r.provider_instance_id or "", r.status, r.health_check_url) for r in pending],
                no_provider_reason=no_provider_reason, endpoint_timeout=ctx.settings.repair.endpoint_timeout_seconds)
            decisions = await _record_checks(ctx, pending, observations, token, now, outcomes)
        except Exception:  # noqa: BLE001 - one by one instead, where each instance's error stays its own
            log.exception("auto-repair: storing %s checks at once failed; checking them one by one", len(pending))
            await _release(ctx, [r.id for r in pending], token)
            released.update(r.id for r in pending)
            for row in pending:
                outcomes[row.id] = await guarded(check_instance(ctx, row.id, now), row.id)
            continue
        for instance_id, (row, decision) in decisions.items():
            if decision.attempt is None:
                released.add(instance_id)  # with its verdict, in the same commit
                outcomes[instance_id] = Outcome(instance_id, decision.verdict.state,
                                                "give_up" if decision.gave_up else None)
            else:
                outcomes[instance_id] = await guarded(
                    _repair(ctx, provider, no_provider_reason, row, decision, now), instance_id)
    return outcomes


async def _record_checks(ctx: RepairContext, pending: list[Row], observations, token: str, now: datetime,
                         outcomes: dict[int, Outcome]) -> dict[int, tuple[Instance, Decision]]:
    """Every check and verdict in one transaction; the repair attempts due are booked in it too."""
    decisions: dict[int, tuple[Instance, Decision]] = {}
    async with ctx.sessions() as session, session.begin():
        fresh = {r.id: r for r in (await session.execute(
            select(Instance).where(Instance.id.in_([r.id for r in pending])))).scalars()}
        for row, observation in zip(pending, observations):
            current = fresh.get(row.id)
            if current is None or current.lock_token != token:
                outcomes[row.id] = Outcome(row.id, skipped="the claim expired during the check")
                continue
            decision = await _record_check(session, ctx, current, observation, now)
            if decision.attempt is None:  # no repair step follows: the claim ends with this commit
                current.lock_token, current.lock_expires_at = None, None
            decisions[row.id] = (current, decision)
    return decisions


async def _repair(ctx: RepairContext, provider, no_provider_reason: str, row: Instance, decision: Decision,
                  now: datetime) -> Outcome:
    step = await _run_step(ctx, provider, no_provider_reason, row, decision.step)
    async with ctx.sessions() as session, session.begin():
        await _record_step(session, ctx, row.id, decision, step, now)
    return Outcome(row.id, decision.verdict.state, step.action, OK if step.ok else "failed")


async def guarded(call, instance_id: int) -> Outcome:
    try:
        return await call
    except Exception:  # noqa: BLE001 - one instance's unexpected error must not stop the others'
        log.exception("auto-repair: checking instance %s failed", instance_id)
        return Outcome(instance_id, skipped="the check failed unexpectedly")
