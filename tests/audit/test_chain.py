"""The audit hash chain on each database: appends take consecutive places even when many run at
once, and ``verify`` names the first edited, removed or reordered event."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import delete, select, text, update

from app import audit
from app.audit.verify import verify_all
from app.db.models import AuditChainHead, AuditEvent

WS = audit.personal(7)


async def append(sessions, n: int, workspace: str = WS) -> None:
    for i in range(n):
        async with sessions() as session, session.begin():
            await audit.record(session, workspace, "budget.changed", audit.Actor(7, "a@example.com"),
                               before={"monthly_amount": Decimal(i)}, after={"monthly_amount": Decimal(i + 1)})


async def test_an_untouched_chain_verifies(sessions):
    await append(sessions, 5)
    await append(sessions, 2, audit.personal(8))
    result = await verify_all(sessions)
    assert result.ok and (result.workspaces, result.events) == (2, 7)
    async with sessions() as session:
        seqs = list((await session.execute(select(AuditEvent.seq).where(AuditEvent.workspace == WS)
                                           .order_by(AuditEvent.seq))).scalars())
        head = await session.get(AuditChainHead, WS)
    assert seqs == [1, 2, 3, 4, 5] and head.seq == 5


@pytest.mark.parametrize("tamper, seq, reason", [
    (update(AuditEvent).where(AuditEvent.seq == 3).values(after={"monthly_amount": "999"}), 3, "changed"),
    (update(AuditEvent).where(AuditEvent.seq == 2).values(actor="someone-else@example.com"), 2, "changed"),
    (update(AuditEvent).where(AuditEvent.seq == 4).values(address="203.0.113.9"), 4, "changed"),
    (delete(AuditEvent).where(AuditEvent.seq == 2), 2, "missing"),
    (delete(AuditEvent).where(AuditEvent.seq == 5), 5, "missing"),  # the last one: the head still names it
])
async def test_a_tampered_chain_names_the_first_broken_event(sessions, tamper, seq, reason):
    await append(sessions, 5)
    await append(sessions, 3, audit.personal(8))
    async with sessions() as session, session.begin():
        await session.execute(tamper.where(AuditEvent.workspace == WS))
    result = await verify_all(sessions)
    assert [(b.workspace, b.seq) for b in result.breaks] == [(WS, seq)]
    assert reason in result.breaks[0].reason


async def test_a_rehashed_edit_still_breaks_the_next_link(sessions):
    """Whoever edits an event and recomputes its hash breaks the following event's prev_hash."""
    from app.audit.chain import HASHED_FIELDS, event_hash

    await append(sessions, 4)
    async with sessions() as session, session.begin():
        event = (await session.execute(select(AuditEvent).where(AuditEvent.seq == 2))).scalar_one()
        event.after = {"monthly_amount": "0"}
        event.hash = event_hash({name: getattr(event, name) for name in HASHED_FIELDS})
    result = await verify_all(sessions)
    assert [(b.seq, b.reason) for b in result.breaks] == [(3, "does not follow the event before it")]


async def test_concurrent_appends_take_consecutive_places(sessions, engine):
    """Twenty changes at once in one new workspace (its first event raced too): seq 1..20, one chain."""
    async def one(i: int) -> None:
        for attempt in range(50):
            try:
                async with sessions() as session, session.begin():
                    await audit.record(session, WS, "key.added", audit.Actor(7, "a@example.com"), target_id=i)
                return
            except Exception as exc:  # SQLite: "database is locked" while another append holds the write lock
                if "locked" not in str(exc) or attempt == 49:
                    raise
                await asyncio.sleep(0.02)

    await asyncio.gather(*(one(i) for i in range(20)))
    async with sessions() as session:
        seqs = sorted((await session.execute(select(AuditEvent.seq).where(AuditEvent.workspace == WS))).scalars())
        targets = sorted(int(t) for t in (await session.execute(select(AuditEvent.target_id))).scalars())
    assert seqs == list(range(1, 21)) and targets == list(range(20))
    assert (await verify_all(sessions)).ok


async def test_values_are_stored_without_floats_or_naive_times(sessions):
    from datetime import datetime, timezone

    async with sessions() as session, session.begin():
        await audit.record(session, WS, "subscription.changed", audit.STRIPE,
                           after={"price": Decimal("2.490000"), "until": datetime(2026, 12, 1, tzinfo=timezone.utc),
                                  "tags": {"b", "a"}})
    async with sessions() as session:
        stored = (await session.execute(select(AuditEvent.after))).scalar_one()
    assert stored == {"price": "2.490000", "until": "2026-12-01T00:00:00.000000Z", "tags": ["a", "b"]}
    assert (await verify_all(sessions)).ok
