"""Changing the password of a logged-in account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import passwords
from app.auth.service import AccountError, end_all_sessions, retire_reset_tokens
from app.db.models import User
from app.db.types import utcnow


def check_current_password(user: User, password: str) -> None:
    """Changes to the account itself ask for the password again: an unattended session is not enough."""
    if not passwords.verify_password(user.password_hash, password or ""):
        raise AccountError("your current password is not right")


async def change_password(session: AsyncSession, user: User, current: str, new: str,
                          now: datetime | None = None) -> None:
    """Set the new password and end every session of the account (the caller re-issues its own);
    pending reset links stop working too. The caller commits."""
    check_current_password(user, current)
    try:
        passwords.check_strength(new or "")
    except passwords.WeakPassword as exc:
        raise AccountError(str(exc)) from None
    user.password_hash = passwords.hash_password(new)
    await retire_reset_tokens(session, user.id, now or utcnow())
    await end_all_sessions(session, user)
