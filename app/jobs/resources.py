"""What a task needs from its process: settings, the database, one HTTP client, the keyring, senders.

Built once per worker process and handed to every task through the job context, so a task opens
no client or pool of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from procrastinate import JobContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from providers.http import new_client

CONTEXT_KEY = "computehub"


@dataclass
class JobResources:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    _http: httpx.AsyncClient | None = field(default=None, repr=False)
    _senders: dict[str, Any] | None = field(default=None, repr=False)
    _keyring: Any = field(default=None, repr=False)

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = new_client(timeout=self.settings.polling.timeout_seconds)
        return self._http

    @property
    def keyring(self):
        from app.security.keyring import keyring_from_settings

        if self._keyring is None:
            self._keyring = keyring_from_settings(self.settings)
        return self._keyring

    @property
    def senders(self) -> dict[str, Any]:
        if self._senders is None:
            from app.notifications.senders import senders_from_settings

            self._senders = senders_from_settings(self.settings)
        return self._senders

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


def resources(context: JobContext) -> JobResources:
    return context.additional_context[CONTEXT_KEY]
