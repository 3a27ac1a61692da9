"""Every request states where it comes from, for the audit events its handler records."""

from __future__ import annotations

from litestar import Request

from app.audit.origin import Origin, current_origin
from app.web.client_address import client_address
from app.web.request_id import request_id_of


async def set_audit_origin(request: Request) -> None:
    """A ``before_request`` hook, async so that it runs in the handler's own context (a sync hook would run
    in a worker thread, and the value would be lost with it)."""
    current_origin.set(Origin(address=client_address(request), user_agent=request.headers.get("user-agent", "")[:300],
                              request_id=request_id_of(request.scope)))
