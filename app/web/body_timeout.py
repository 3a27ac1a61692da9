"""A deadline for the request body: a client that sends its headers and then stalls (or trickles
the body) gets 408 once ``body_timeout`` seconds have passed since the request started."""

from __future__ import annotations

import asyncio
import time

from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send


class RequestBodyTimeout(HTTPException):
    status_code = 408
    detail = "the request body did not arrive in time"


class BodyTimeoutMiddleware:
    def __init__(self, app: ASGIApp, *, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = time.monotonic() + self.timeout
        body_done = False

        async def receive_before_deadline() -> Message:
            nonlocal body_done
            if body_done:  # after the body only a disconnect can come: wait for it as long as it takes
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise RequestBodyTimeout() from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        await self.app(scope, receive_before_deadline, send)
