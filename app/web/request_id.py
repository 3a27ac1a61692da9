"""A request id for every HTTP request: made at the edge of the app, echoed in ``X-Request-ID``,
attached to every log line written while the request runs, and shown on the error page.

Always generated here, never taken from the client: an incoming id could be forged to make log
lines of one request look like another's (a proxy's own id can still be logged by the proxy).
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar

from litestar.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
_STATE_KEY = "request_id"
current_request_id: ContextVar[str | None] = ContextVar("computehub_request_id", default=None)


def request_id_of(scope: Scope) -> str:
    """The id of this request (every request going through the app has one)."""
    return scope.get("state", {}).get(_STATE_KEY) or current_request_id.get() or "-"


class RequestIdMiddleware:
    """Outermost ASGI layer, outside Litestar's exception handling, so 404s of unknown paths and
    500 pages carry the header too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})[_STATE_KEY] = request_id
        token = current_request_id.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER.encode()]
                message["headers"] = [*headers, (HEADER.encode(), request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current_request_id.reset(token)
