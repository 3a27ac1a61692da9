"""The throttle's counters are shared by every process and survive a restart: in the database by
default, in Redis when it is configured."""

from __future__ import annotations

import secrets
from dataclasses import replace

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.auth.throttle import Budgets, LoginThrottle, RedisCounterStore
from app.db.engine import make_engine
from app.server import create_app
from tests.conftest import REDIS_URL, require_redis
from tests.auth.support import PASSWORD, Browser, make_user

LIMIT = 5


async def attempt(application: Litestar, address: str, email: str, password: str, times: int = 1) -> list[int]:
    browser = Browser(application, address)
    try:
        return [(await browser.login(email, password)).status_code for _ in range(times)]
    finally:
        await browser.close()


async def attempt_in_a_run(application: Litestar, *args, **kw) -> list[int]:
    async with AsyncTestClient(app=application):  # start-up and shut-down: one run of the app
        return await attempt(application, *args, **kw)


async def test_two_app_instances_on_one_database_share_the_counts(settings, engine, database_url, sessions):
    await make_user(sessions, "ada@example.com")
    assert await attempt_in_a_run(create_app(settings, engine=engine, run_worker=False),
                         "203.0.113.5", "ada@example.com", "wrong password!", LIMIT - 2) == [400] * (LIMIT - 2)

    # Another process (its own engine) on the same database, or the same one after a restart.
    other_engine = make_engine(database_url)
    try:
        restarted = create_app(settings, engine=other_engine, run_worker=False)
        async with AsyncTestClient(app=restarted):
            assert await attempt(restarted, "203.0.113.5", "ada@example.com", "wrong password!", 2) == [400, 400]
            assert await attempt(restarted, "203.0.113.5", "ada@example.com", PASSWORD) == [429]
            assert await attempt(restarted, "203.0.113.6", "ada@example.com", PASSWORD) == [302]
    finally:
        await other_engine.dispose()


@pytest.fixture
def redis_settings(settings):
    require_redis()
    return replace(settings, security=replace(settings.security, session_store="redis", redis_url=REDIS_URL))


async def test_two_app_instances_on_one_redis_share_the_counts(redis_settings, engine, sessions):
    """Without their start-up and shut-down: the test client would run those in another event loop,
    which the Redis connections opened here cannot be closed from."""
    # A Redis shared with other test runs: an account and a /64 of our own.
    email = f"ada-{secrets.token_hex(6)}@example.com"
    address = f"2001:db8:{secrets.randbelow(0xffff):x}:{secrets.randbelow(0xffff):x}::1"
    await make_user(sessions, email)
    first, second = (create_app(redis_settings, engine=engine, run_worker=False) for _ in range(2))
    store = first.stores.get("throttle")
    assert isinstance(store, RedisCounterStore)
    try:
        assert await attempt(first, address, email, "wrong password!", LIMIT - 1) == [400] * (LIMIT - 1)
        assert await attempt(second, address, email, "wrong password!") == [400]
        assert await attempt(second, address, email, PASSWORD) == [429]
        assert await attempt(first, address, email, PASSWORD) == [429]
        # The counters are in Redis, not in the database.
        throttle = LoginThrottle(store, address, Budgets.from_settings(redis_settings))
        assert await store.get(throttle._budgets(email)[0][0]) == str(LIMIT).encode()
    finally:
        throttle = LoginThrottle(store, address, Budgets.from_settings(redis_settings))
        for key, _ in throttle._budgets(email):
            await store.delete(key)
        for application in (first, second):  # the Redis clients of this event loop
            for name in ("sessions", "throttle"):
                await application.stores.get(name)._redis.aclose()
