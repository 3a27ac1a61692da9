"""Two simultaneous bindings beyond the Basic quota: one conditional UPDATE decides, so exactly one wins.

Each attempt is its own transaction through its own session, and the first holds its
transaction open a moment, so on PostgreSQL the second really waits on it."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from app.billing.entitlements import QuotaExhausted, set_quota_usage
from app.console import bindings
from app.db.models import ProviderBinding, QuotaUsage
from providers.sandbox import generate_api_key


async def attempt(sessions, keyring, user_id: int, label: str, start: asyncio.Event) -> str:
    await start.wait()
    try:
        async with sessions() as session, session.begin():
            await bindings.add_binding(session, keyring, user_id, "sandbox", label, {"api_key": generate_api_key()})
            await asyncio.sleep(0.3)  # keep the transaction open while the other one tries
    except QuotaExhausted as exc:
        return exc.detail
    return "added"


async def test_two_simultaneous_second_bindings_on_basic(sessions, keyring, ada):
    # The counter row exists already (the account had a binding once): nothing but the
    # conditional UPDATE stands between the two attempts.
    async with sessions() as session, session.begin():
        await set_quota_usage(session, ada, "bindings", 0)
    start = asyncio.Event()
    tasks = [asyncio.create_task(attempt(sessions, keyring, ada, label, start)) for label in ("left", "right")]
    await asyncio.sleep(0.05)
    start.set()

    outcomes = await asyncio.gather(*tasks)

    assert sorted(outcomes) == sorted(["added", "Your plan allows 1 provider binding(s). "
                                                "The Pro plan has no limit: upgrade at /settings/subscription."])
    async with sessions() as session:
        rows = list((await session.execute(select(ProviderBinding).where(ProviderBinding.user_id == ada))).scalars())
        usage = await session.get(QuotaUsage, (ada, "bindings"))
    assert len(rows) == 1
    assert usage.used == 1


async def test_a_third_attempt_after_both_is_refused_and_removing_frees_the_slot(sessions, keyring, ada):
    async with sessions() as session, session.begin():
        first = await bindings.add_binding(session, keyring, ada, "sandbox", "first", {"api_key": generate_api_key()})
    async with sessions() as session:
        try:
            await bindings.add_binding(session, keyring, ada, "sandbox", "second", {"api_key": generate_api_key()})
        except QuotaExhausted as exc:
            assert "Pro plan" in exc.detail
        else:
            raise AssertionError("a second binding on Basic was accepted")

    async with sessions() as session, session.begin():
        await bindings.remove_binding(session, ada, first.id)
    async with sessions() as session, session.begin():
        await bindings.add_binding(session, keyring, ada, "sandbox", "second", {"api_key": generate_api_key()})
    async with sessions() as session:
        assert (await session.get(QuotaUsage, (ada, "bindings"))).used == 1
