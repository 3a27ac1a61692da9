"""The database-backed Litestar store (throttle counters without Redis), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select, update

from app.db.engine import make_engine
from app.db.models import StoreEntry
from app.db.store import DatabaseStore
from app.db.types import utcnow


async def expire_now(sessions, key: str) -> None:
    async with sessions() as session, session.begin():
        await session.execute(update(StoreEntry).where(StoreEntry.key == key)
                              .values(expires_at=utcnow() - timedelta(seconds=1)))


async def test_set_get_delete_and_expiry(engine, sessions):
    store = DatabaseStore(engine, "t")
    assert await store.get("a") is None and not await store.exists("a")

    await store.set("a", "one")
    await store.set("b", b"\x00two", expires_in=60)
    assert await store.get("a") == b"one" and await store.expires_in("a") is None
    assert await store.get("b") == b"\x00two" and 55 <= await store.expires_in("b") <= 60
    await store.set("a", "uno", expires_in=timedelta(seconds=30))
    assert await store.get("a") == b"uno" and 25 <= await store.expires_in("a") <= 30

    assert await store.get("a", renew_for=600) == b"uno"
    assert 590 <= await store.expires_in("a") <= 600

    await expire_now(sessions, "t:b")
    assert await store.get("b") is None and not await store.exists("b") and await store.expires_in("b") is None
    assert await store.delete_expired() == 1

    await store.delete("a")
    await store.delete("never-there")
    assert await store.get("a") is None


async def test_namespaces_are_separate_and_delete_all_reaches_children(engine, sessions):
    parent = DatabaseStore(engine, "p")
    child = parent.with_namespace("c")
    neighbour = DatabaseStore(engine, "p2")
    for store in (parent, child, neighbour):
        await store.set("k", store.namespace)
    assert (await parent.get("k"), await child.get("k")) == (b"p", b"p/c")

    await parent.delete_all()
    assert await parent.get("k") is None and await child.get("k") is None
    assert await neighbour.get("k") == b"p2"


async def test_long_keys_fit_the_column(engine):
    store = DatabaseStore(engine, "t")
    long_key = "x" * 5000
    await store.set(long_key, "v")
    assert await store.get(long_key) == b"v" and await store.get("x" * 4999) is None


async def test_increment_counts_keeps_the_first_expiry_and_restarts_after_it(engine, sessions):
    store = DatabaseStore(engine, "t")
    assert [await store.increment("n", 300) for _ in range(3)] == [1, 2, 3]
    assert await store.get("n") == b"3"
    async with sessions() as session:
        first_expiry = (await session.execute(select(StoreEntry.expires_at))).scalar_one()
    await store.increment("n", 9999)  # a later increment does not push the window out
    assert 290 <= await store.expires_in("n") <= 300
    async with sessions() as session:
        assert (await session.execute(select(StoreEntry.expires_at))).scalar_one() == first_expiry

    await expire_now(sessions, "t:n")
    assert await store.increment("n", 300) == 1
    assert 290 <= await store.expires_in("n") <= 300


async def test_concurrent_increments_from_two_engines_lose_no_count(engine, database_url):
    """Two processes on one database: each increment lands, and every returned count is distinct."""
    other_engine = make_engine(database_url)
    try:
        first, second = DatabaseStore(engine, "t"), DatabaseStore(other_engine, "t")
        counts = await asyncio.gather(*(store.increment("shared", 300)
                                        for _ in range(20) for store in (first, second)))
        assert sorted(counts) == list(range(1, 41))
        assert await second.get("shared") == b"40"
    finally:
        await other_engine.dispose()
