"""Login rate limiting: failures counted in a Litestar store (memory, or Redis in production).

Counted per client address and per e-mail address, so neither one host guessing many accounts
nor many hosts guessing one account gets far. A window starts at the first failure (not on a
clock boundary, where a fixed window would allow twice the limit in a burst).
"""

from __future__ import annotations

from litestar.stores.base import Store


class LoginThrottle:
    def __init__(self, store: Store, limit: int, window_seconds: int) -> None:
        self.store = store
        self.limit = limit
        self.window = window_seconds

    def _keys(self, client: str, email: str) -> list[str]:
        return [self._client_key(client), self._email_key(email)]

    @staticmethod
    def _client_key(client: str) -> str:
        return f"login:ip:{client}"

    @staticmethod
    def _email_key(email: str) -> str:
        return f"login:email:{email.strip().lower()}"

    async def retry_after(self, client: str, email: str) -> int | None:
        """Seconds until another attempt is allowed, or None when allowed now."""
        for key in self._keys(client, email):
            raw = await self.store.get(key)
            if raw is not None and int(raw) >= self.limit:
                return await self._remaining(key)
        return None

    async def record_failure(self, client: str, email: str) -> None:
        for key in self._keys(client, email):
            raw = await self.store.get(key)
            # Keep the window that the first failure opened.
            remaining = await self._remaining(key) if raw is not None else self.window
            await self.store.set(key, str(int(raw or 0) + 1), expires_in=remaining)

    async def _remaining(self, key: str) -> int:
        seconds = await self.store.expires_in(key)
        return seconds if seconds and seconds > 0 else self.window

    async def reset(self, email: str) -> None:
        """After a complete login: that account starts afresh. The client's count stays, or an
        attacker could clear it by logging in to an account of their own between guesses."""
        await self.store.delete(self._email_key(email))
