"""One check, on every request that carries a session: does the account still vouch for it?

A session stores the account's ``session_epoch`` from when it was opened. A password reset or
change bumps the epoch, and deleting the account sets ``deleted_at``: from then on, sessions
opened before are over. This middleware sits right after the session middleware, so every
reader of the session (guards, ``provide_current_user``, the API's plan checks) sees a stale
session as empty, i.e. logged out; the stored session and its cookie are then deleted.
"""

from __future__ import annotations

from typing import Any

from litestar.types import ASGIApp, Empty, Message, Receive, Scope, Send
from sqlalchemy import select

from app.auth.session import SESSION_EPOCH, SESSION_PENDING_2FA, SESSION_USER
from app.db.models import User


def _account_id(session: dict[str, Any]) -> int | None:
    """The account a session speaks for: logged in, or half-way through the second login step."""
    raw = session.get(SESSION_USER) or session.get(SESSION_PENDING_2FA)
    if raw is None:
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        return -1  # no account has this id: the session is treated as stale


async def _still_valid(scope: Scope, session: dict[str, Any], user_id: int) -> bool:
    async with scope["app"].state.sessions() as db:
        row = (await db.execute(
            select(User.session_epoch, User.deleted_at).where(User.id == user_id))).first()
    epoch = session.get(SESSION_EPOCH)
    return row is not None and row.deleted_at is None and isinstance(epoch, int) and row.session_epoch == epoch


class SessionValidityMiddleware:
    """Ends sessions opened before the account's last password reset/change, or of deleted accounts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session = scope.get("session")
        if scope["type"] == "http" and isinstance(session, dict) and session:
            user_id = _account_id(session)
            if user_id is not None and not await _still_valid(scope, session, user_id):
                scope["session"] = {}
                send = _forget_if_unused(scope, send)
        await self.app(scope, receive, send)


def _forget_if_unused(scope: Scope, send: Send) -> Send:
    """Unless the handler opened a new session (a fresh login), drop the stale one from the store
    and the browser: an empty-but-present session would otherwise be saved under the old id."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start" and scope.get("session") == {}:
            scope["session"] = Empty  # type: ignore[typeddict-item]
        await send(message)

    return wrapped
