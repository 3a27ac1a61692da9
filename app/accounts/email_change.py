"""Changing the account's e-mail address, confirmed by a link sent to the new address.

Like reset links, only the SHA-256 of the token is stored, it expires (``EMAIL_CHANGE_TTL``) and
works once; asking again retires the earlier link. The address must still be free when the
link is opened; the old address is told afterwards (the caller sends that notice).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.password import check_current_password
from app.auth.service import AccountError, normalize_email, retire_reset_tokens
from app.db.models import EmailChangeToken, User
from app.db.types import utcnow

EMAIL_CHANGE_TTL = timedelta(hours=24)
_INVALID_LINK = "this confirmation link is invalid or has expired; ask for a new one on your account page"
_TAKEN = "an account with this e-mail address already exists"


class WrongAccount(AccountError):
    """The link belongs to another account than the one logged in on this browser."""


@dataclass(frozen=True)
class EmailChanged:
    user: User
    old_email: str


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _address_taken(session: AsyncSession, email: str, user_id: int) -> bool:
    found = await session.execute(select(User.id).where(User.email == email, User.id != user_id))
    return found.first() is not None


async def _retire_links(session: AsyncSession, user_id: int, now: datetime) -> None:
    await session.execute(
        update(EmailChangeToken).where(EmailChangeToken.user_id == user_id, EmailChangeToken.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False))


async def request_email_change(session: AsyncSession, user: User, new_email: str, password: str,
                               now: datetime | None = None) -> tuple[str, str]:
    """Check the password and the address; returns (the normalized new address, the token to mail
    to it). The address changes only once the link is opened. The caller commits, then mails."""
    check_current_password(user, password)
    email = normalize_email(new_email)
    if email == user.email:
        raise AccountError("that is already your address")
    if await _address_taken(session, email, user.id):
        raise AccountError(_TAKEN)
    now = now or utcnow()
    await _retire_links(session, user.id, now)
    token = secrets.token_urlsafe(32)
    session.add(EmailChangeToken(user_id=user.id, new_email=email, token_hash=_token_hash(token), created_at=now,
                                 expires_at=now + EMAIL_CHANGE_TTL))
    return email, token


async def pending_link(session: AsyncSession, token: str, now: datetime | None = None) -> EmailChangeToken:
    """The live request behind ``token``, or AccountError."""
    now = now or utcnow()
    row = (await session.execute(
        select(EmailChangeToken).where(EmailChangeToken.token_hash == _token_hash(token or "")))).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at < now:
        raise AccountError(_INVALID_LINK)
    return row


async def confirm_email_change(session: AsyncSession, token: str, *, logged_in_as: int | None,
                               now: datetime | None = None) -> EmailChanged:
    """Switch the address of the link's account. ``logged_in_as``: the account of this browser's
    session, if any; a link of another account is refused (and stays usable). The caller commits."""
    now = now or utcnow()
    row = await pending_link(session, token, now)
    user = await session.get(User, row.user_id)
    if user is None or user.deleted_at is not None:
        raise AccountError(_INVALID_LINK)
    if logged_in_as is not None and logged_in_as != user.id:
        raise WrongAccount("this link confirms the address of another account: log out, then open it again")
    if await _address_taken(session, row.new_email, user.id):
        raise AccountError(f"{row.new_email} is now used by another account; choose another address")
    # Conditional write: the link works once, even when opened twice at the same moment.
    used = await session.execute(
        update(EmailChangeToken).where(EmailChangeToken.id == row.id, EmailChangeToken.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False))
    if used.rowcount != 1:
        raise AccountError(_INVALID_LINK)
    old_email, user.email = user.email, row.new_email
    try:
        await session.flush()
    except IntegrityError:  # taken between the check and the write
        raise AccountError(f"{row.new_email} is now used by another account; choose another address") from None
    await _retire_links(session, user.id, now)
    # A reset link mailed to the old address must not outlive the change.
    await retire_reset_tokens(session, user.id, now)
    return EmailChanged(user, old_email)
