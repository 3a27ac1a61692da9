"""Where the change being made comes from: set once per web request (app/web/audit_origin.py),
read by ``log.record``; background work has no origin (``system``)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    address: str = ""
    user_agent: str = ""
    request_id: str = ""
    via: str = "web"


current_origin: ContextVar[Origin | None] = ContextVar("computehub_audit_origin", default=None)
