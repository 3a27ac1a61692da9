"""The HTTP server (uvicorn) with deadlines for slow clients.

uvicorn closes idle kept-alive connections (``timeout_keep_alive``) but has no deadline for the
request line and headers: a client that connects and sends half a request line, a byte at a
time, holds its connection open for ever. We keep uvicorn (hypercorn's read timeout would mean a
second server and a dependency for one setting) and add that deadline in a small subclass of its
h11 protocol; the body deadline is an ASGI wrapper (app/web/body_timeout.py), so it works under
any server. In production a reverse proxy (deploy/Caddyfile) enforces the same limits first.
"""

from __future__ import annotations

import asyncio

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.settings import WebSettings


class HeaderDeadlineH11Protocol(H11Protocol):
    """Closes a connection whose request line and headers are not complete ``header_timeout``
    seconds after it opened, or after the previous response on a kept-alive connection."""

    header_timeout: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._arm_header_deadline()

    def _arm_header_deadline(self) -> None:
        self._cancel_header_deadline()
        self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_timed_out)

    def _cancel_header_deadline(self) -> None:
        if getattr(self, "_header_deadline", None) is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_timed_out(self) -> None:
        self._header_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.logger.info("closing a connection whose request headers did not arrive in %ss", self.header_timeout)
            self.transport.close()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # the headers are in (a body may follow)
            self._cancel_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)


def protocol_class(header_timeout: float) -> type[HeaderDeadlineH11Protocol]:
    return type("HeaderDeadlineH11Protocol", (HeaderDeadlineH11Protocol,), {"header_timeout": header_timeout})


class SettingsHeaderDeadlineH11Protocol(HeaderDeadlineH11Protocol):
    """The same, with the deadline from the process's settings: an importable class, for web
    processes that uvicorn starts by import path (``computehub run --workers N``)."""

    def __init__(self, *args, **kwargs) -> None:
        from app.settings import get_settings

        self.header_timeout = get_settings().web.header_timeout_seconds
        super().__init__(*args, **kwargs)


def server_config(app, web: WebSettings, *, host: str, port: int, **kwargs) -> uvicorn.Config:
    """The one uvicorn configuration of ``computehub run`` (and of the tests that need a real server)."""
    several = kwargs.get("workers", 1) > 1  # worker processes get the config pickled: a class by path
    return uvicorn.Config(
        app, host=host, port=port,
        http=("app.web.http_server:SettingsHeaderDeadlineH11Protocol" if several
              else protocol_class(web.header_timeout_seconds)),
        timeout_keep_alive=max(1, round(web.keepalive_timeout_seconds)),
        h11_max_incomplete_event_size=16 * 1024,  # request line + headers larger than 16 KiB: 400
        # uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 and rewrite the client address
        # before the app sees it; which proxies to trust is the app's decision (COMPUTEHUB_TRUSTED_PROXIES).
        proxy_headers=False,
        **kwargs,
    )
