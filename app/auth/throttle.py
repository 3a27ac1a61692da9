"""Login rate limiting, with two budgets of failures per window:

- per (account, client address): a few, so one address guessing one account stops soon, while the
  account's owner at another address is not locked out by someone else's guesses;
- per client address, over all accounts: larger, so mistyping one account's password does not
  lock that address out of another account, but one address cannot try many accounts.

Wrong codes at the second step count like wrong passwords. IPv6 clients are counted by their
/64 (one end site: an attacker there has all of it). Accounts are keyed by a hash of the
normalized address, so no e-mail address is stored in the counters. A window opens at the first
failure (not on a clock boundary, where a fixed window would allow twice the budget in a burst).

Counters live in Redis when it is configured (``COMPUTEHUB_SESSION_STORE=redis``), else in the
database (``app.db.store``): shared by every process and kept across restarts either way.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import timedelta
from ipaddress import IPv6Address, ip_address, ip_network
from typing import Protocol

from litestar.stores.base import Store
from litestar.stores.redis import RedisStore
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.store import DatabaseStore
from app.settings import Settings


class CounterStore(Protocol):
    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None: ...
    async def delete(self, key: str) -> None: ...
    async def expires_in(self, key: str) -> int | None: ...
    async def increment(self, key: str, expires_in: int | timedelta) -> int: ...


class RedisCounterStore(RedisStore):
    """Litestar's Redis store plus an atomic increment (one Lua script: INCR, and EXPIRE on the
    first increment, so the window stays the one the first failure opened)."""

    __slots__ = ("_increment_script",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._increment_script = self._redis.register_script(b"""
        local count = redis.call('INCR', KEYS[1])
        if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
        return count
        """)

    async def increment(self, key: str, expires_in: int | timedelta) -> int:
        seconds = int(expires_in.total_seconds() if isinstance(expires_in, timedelta) else expires_in)
        return int(await self._increment_script(keys=[self._make_key(key)], args=[max(1, seconds)]))


def throttle_store(settings: Settings, engine: AsyncEngine) -> Store:
    if settings.security.session_store == "redis":
        return RedisCounterStore.with_client(url=settings.security.redis_url, namespace="computehub_throttle")
    return DatabaseStore(engine, "throttle")


@dataclass(frozen=True)
class Budgets:
    per_account_address: int
    per_address: int
    window_seconds: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Budgets:
        security = settings.security
        return cls(security.login_attempts_per_window, security.login_attempts_per_address,
                   security.login_window_seconds)


def address_bucket(address: str) -> str:
    """What one client is: an IPv4 address, or an IPv6 /64."""
    try:
        parsed = ip_address(address)
    except ValueError:
        return address[:100]
    if isinstance(parsed, IPv6Address):
        return str(ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def account_key(account: str) -> str:
    return hashlib.sha256((account or "").strip().lower().encode("utf-8", "replace")).hexdigest()[:40]


def locked_out_message(wait_seconds: int) -> str:
    """What a locked-out user reads: the real remaining time, rounded up (4 min 10 s says 5 minutes,
    never a time after which the next try would still be refused)."""
    minutes = max(1, math.ceil(wait_seconds / 60))
    return f"Too many attempts. Try again in about {minutes} minute{'s' if minutes > 1 else ''}."


class LoginThrottle:
    """The failures of one client address; ``account`` is the e-mail address as typed."""

    def __init__(self, store: CounterStore, address: str, budgets: Budgets) -> None:
        self.store = store
        self.address = address_bucket(address)
        self.budgets = budgets

    def _budgets(self, account: str) -> list[tuple[str, int]]:
        return [(f"login:pair:{self.address}:{account_key(account)}", self.budgets.per_account_address),
                (f"login:address:{self.address}", self.budgets.per_address)]

    async def retry_after(self, account: str) -> int | None:
        """Seconds until another attempt is allowed, or None when allowed now."""
        waits = []
        for key, budget in self._budgets(account):
            raw = await self.store.get(key)
            if raw is not None and int(raw) >= budget:
                remaining = await self.store.expires_in(key)
                waits.append(remaining if remaining and remaining > 0 else self.budgets.window_seconds)
        return max(waits) if waits else None

    async def record_failure(self, account: str) -> None:
        for key, _ in self._budgets(account):
            await self.store.increment(key, self.budgets.window_seconds)

    async def reset(self, account: str) -> None:
        """After a complete login: this address starts afresh for that account. The address's own
        count stays, or an attacker could clear it by logging in to an account of theirs between
        guesses."""
        await self.store.delete(self._budgets(account)[0][0])
