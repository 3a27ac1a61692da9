"""Several workers: one poll per source at a time, and a crashed worker's lease expires.

Each "worker" gets its own engine (its own connections), as separate processes would; on
PostgreSQL the acquires really run concurrently on different connections.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.db.engine import make_engine, session_factory
from app.db.models import PriceHistory
from app.services import leases
from app.services.polling import POLL_LEASE_TTL, poll_source
from providers.http import new_client
from tests.support.factories import make_offer

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
TTL = timedelta(minutes=10)


@pytest.fixture
async def worker_sessions(database_url, sessions):
    """Session factories for a few more workers, each on its own engine."""
    engines = [make_engine(database_url) for _ in range(3)]
    yield [sessions, *(session_factory(e) for e in engines)]
    for e in engines:
        await e.dispose()


async def test_concurrent_acquire_has_exactly_one_winner(worker_sessions):
    for round_ in range(5):
        name = f"poll:race-{round_}"
        results = await asyncio.gather(
            *(leases.acquire(s, name, TTL, holder=f"worker-{i}", now=T0) for i, s in enumerate(worker_sessions))
        )
        assert sum(results) == 1, results
        winner = results.index(True)
        # Losers keep losing while the lease is live; the holder may renew it.
        for i, s in enumerate(worker_sessions):
            assert await leases.acquire(s, name, TTL, holder=f"worker-{i}", now=T0 + timedelta(minutes=1)) == (
                i == winner
            )


async def test_release_only_frees_the_holders_own_lease(worker_sessions):
    a, b = worker_sessions[:2]
    assert await leases.acquire(a, "job", TTL, holder="a", now=T0)
    await leases.release(b, "job", holder="b")  # not b's to release
    assert not await leases.acquire(b, "job", TTL, holder="b", now=T0)
    await leases.release(a, "job", holder="a")
    assert await leases.acquire(b, "job", TTL, holder="b", now=T0)


async def test_expired_lease_is_taken_over(worker_sessions):
    crashed, alive = worker_sessions[:2]
    assert await leases.acquire(crashed, "job", TTL, holder="crashed", now=T0)
    assert not await leases.acquire(alive, "job", TTL, holder="alive", now=T0 + TTL - timedelta(seconds=1))
    assert await leases.acquire(alive, "job", TTL, holder="alive", now=T0 + TTL + timedelta(seconds=1))
    # The crashed worker, back from the dead, cannot take it back nor release it.
    assert not await leases.acquire(crashed, "job", TTL, holder="crashed", now=T0 + TTL + timedelta(seconds=2))
    await leases.release(crashed, "job", holder="crashed")
    assert not await leases.acquire(crashed, "job", TTL, holder="crashed", now=T0 + TTL + timedelta(seconds=3))


async def _poll(name, settings, sessions, holder, at=T0):
    async with new_client(timeout=5) as http:
        return await poll_source(name, settings, sessions, http, now=at, holder=holder)


async def test_two_workers_polling_the_same_source_poll_it_once(worker_sessions, settings, fake_registry):
    async def slow_answer():
        await asyncio.sleep(0.3)  # long enough for the other worker to try meanwhile
        return [make_offer("fake-alpha", "H100 SXM", "2.10"), make_offer("fake-alpha", "L40S", "0.90", memory=48)]

    fake_registry.SCRIPTS["fake-alpha"] = [slow_answer, slow_answer]
    a, b = worker_sessions[:2]
    outcomes = await asyncio.gather(_poll("fake-alpha", settings, a, "worker-a"),
                                    _poll("fake-alpha", settings, b, "worker-b"))

    assert sorted(o.status for o in outcomes) == ["ok", "skipped"]
    assert fake_registry.CALLS["fake-alpha"] == 1
    skipped = next(o for o in outcomes if o.status == "skipped")
    assert skipped.error == "another worker is polling this source"
    async with a() as s:
        assert (await s.execute(select(func.count()).select_from(PriceHistory))).scalar_one() == 2

    # The lease was released: the next poll by the other worker goes through.
    again = await _poll("fake-alpha", settings, b, "worker-b", at=T0 + timedelta(minutes=15))
    assert again.status == "ok"
    assert fake_registry.CALLS["fake-alpha"] == 2


async def test_a_poll_in_progress_elsewhere_blocks_until_it_ends(worker_sessions, settings, fake_registry):
    started, finish = asyncio.Event(), asyncio.Event()

    async def blocked_answer():
        started.set()
        await finish.wait()
        return [make_offer("fake-alpha", "H100 SXM", "2.10")]

    fake_registry.SCRIPTS["fake-alpha"] = [blocked_answer]
    a, b = worker_sessions[:2]
    first = asyncio.create_task(_poll("fake-alpha", settings, a, "worker-a"))
    await asyncio.wait_for(started.wait(), 10)
    assert (await _poll("fake-alpha", settings, b, "worker-b")).status == "skipped"
    finish.set()
    assert (await first).status == "ok"
    assert fake_registry.CALLS["fake-alpha"] == 1


async def test_crashed_workers_poll_lease_expires(worker_sessions, settings, fake_registry):
    a, b = worker_sessions[:2]
    fake_registry.SCRIPTS["fake-alpha"] = [[make_offer("fake-alpha", "H100 SXM", "2.10")]]
    # A worker died mid-poll a minute ago: its lease is still live.
    assert await leases.acquire(a, "poll:fake-alpha", POLL_LEASE_TTL, holder="dead", now=T0 - timedelta(minutes=1))
    assert (await _poll("fake-alpha", settings, b, "worker-b")).status == "skipped"
    assert fake_registry.CALLS["fake-alpha"] == 0
    # After the TTL, another worker takes over.
    later = T0 + POLL_LEASE_TTL
    assert (await _poll("fake-alpha", settings, b, "worker-b", at=later)).status == "ok"
    assert fake_registry.CALLS["fake-alpha"] == 1
