"""Accounts: sign-up, authentication, password reset tokens, two-factor set-up."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.workspaces.scope import create_personal
from app.auth import passwords, recovery_codes, totp
from app.db.models import PasswordResetToken, User
from app.db.types import utcnow
from app.security.keyring import DecryptionFailed, Keyring, totp_aad

log = logging.getLogger(__name__)
RESET_TOKEN_TTL = timedelta(hours=1)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


class AccountError(ValueError):
    """A message safe to show the user."""


class WrongCode(AccountError):
    """A two-factor or recovery code that is not right: counts as a failed attempt."""


def normalize_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not _EMAIL.match(email) or len(email) > 320:
        raise AccountError("enter a valid e-mail address")
    return email


async def signup(session: AsyncSession, email: str, name: str, password: str, *, is_admin: bool = False) -> User:
    email = normalize_email(email)
    name = (name or "").strip()
    if not 1 <= len(name) <= 120:
        raise AccountError("enter your name (up to 120 characters)")
    try:
        passwords.check_strength(password)
    except passwords.WeakPassword as exc:
        raise AccountError(str(exc)) from None
    user = User(email=email, name=name, password_hash=passwords.hash_password(password), is_admin=is_admin,
                totp_enabled=False, timezone="UTC", created_at=utcnow())
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise AccountError("an account with this e-mail address already exists") from None
    await create_personal(session, user)
    return user


async def authenticate(session: AsyncSession, email: str, password: str) -> User | None:
    try:
        email = normalize_email(email)
    except AccountError:
        return None
    user = (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()
    if user is None:
        passwords.verify_password(passwords.DUMMY_HASH, password)  # same cost as a real check
        return None
    if not passwords.verify_password(user.password_hash, password):
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = utcnow()
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def find_account(session: AsyncSession, email: str) -> User | None:
    """The live account with that (normalized) address; deleted accounts are never found."""
    return (await session.execute(
        select(User).where(User.email == email, User.deleted_at.is_(None)))).scalar_one_or_none()


async def end_all_sessions(session: AsyncSession, user: User) -> None:
    """Bump the account's session epoch: every session opened before is over (see
    ``app.auth.session_validity``); a caller keeping its own session re-issues it afterwards."""
    await session.flush()
    await session.execute(update(User).where(User.id == user.id)
                          .values(session_epoch=User.session_epoch + 1).execution_options(synchronize_session=False))
    await session.refresh(user, attribute_names=["session_epoch"])


async def retire_reset_tokens(session: AsyncSession, user_id: int, now: datetime) -> None:
    """Every unused reset link of the account stops working."""
    await session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False))


async def create_reset_token(session: AsyncSession, email: str, now: datetime | None = None) -> tuple[User, str] | None:
    """A single-use token for the user with that address, or None (the caller answers the same either way).
    Only the newest link works: issuing one retires the account's earlier unused ones."""
    try:
        email = normalize_email(email)
    except AccountError:
        return None
    user = await find_account(session, email)
    if user is None:
        return None
    now = now or utcnow()
    await retire_reset_tokens(session, user.id, now)
    token = secrets.token_urlsafe(32)
    session.add(PasswordResetToken(user_id=user.id, token_hash=_token_hash(token), created_at=now,
                                   expires_at=now + RESET_TOKEN_TTL))
    return user, token


async def reset_password(session: AsyncSession, token: str, new_password: str, now: datetime | None = None) -> User:
    """Set the new password, retire every other reset link of the account and end all its sessions."""
    now = now or utcnow()
    row = (
        await session.execute(select(PasswordResetToken).where(PasswordResetToken.token_hash == _token_hash(token or "")))
    ).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at < now:
        raise AccountError("this reset link is invalid or has expired; ask for a new one")
    try:
        passwords.check_strength(new_password)
    except passwords.WeakPassword as exc:
        raise AccountError(str(exc)) from None
    # Conditional write: two concurrent uses of one token cannot both succeed.
    used = await session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.id == row.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
    )
    if used.rowcount != 1:
        raise AccountError("this reset link has already been used")
    user = await session.get(User, row.user_id)
    if user is None or user.deleted_at is not None:
        raise AccountError("this reset link is invalid or has expired; ask for a new one")
    await retire_reset_tokens(session, user.id, now)
    user.password_hash = passwords.hash_password(new_password)
    await end_all_sessions(session, user)
    return user


def begin_totp(user: User, keyring: Keyring) -> str:
    """Store a new (not yet enabled) secret; returns it for the set-up page."""
    if user.totp_enabled:  # else a stolen session could swap the secret without a code
        raise AccountError("two-factor authentication is already on; turn it off first to set it up again")
    secret = totp.new_secret()
    user.totp_secret = keyring.encrypt(secret, totp_aad(user.id))
    user.totp_enabled = False
    user.totp_last_step = None  # a new secret starts a new sequence of codes
    return secret


def pending_totp_secret(user: User, keyring: Keyring) -> str | None:
    return keyring.decrypt(user.totp_secret, totp_aad(user.id)) if user.totp_secret else None


def _readable_secret(user: User, keyring: Keyring) -> str | None:
    try:
        return pending_totp_secret(user, keyring)
    except DecryptionFailed:  # the master key that sealed it is gone: no code can match
        log.error("user %s: the stored two-factor secret cannot be decrypted", user.id)
        return None


async def accept_totp(session: AsyncSession, user: User, keyring: Keyring, code: str) -> bool:
    """Check an authenticator code and record its time step, so that no code counts twice and no
    older code counts after a newer one. The record is a conditional write: of two concurrent
    requests with one code only one updates the row (PostgreSQL re-checks the condition after the
    first commits; SQLite runs one write at a time)."""
    secret = _readable_secret(user, keyring)
    if not secret:
        return False
    step = totp.verify(secret, code, after_step=user.totp_last_step)
    if step is None:
        return False
    recorded = await session.execute(
        update(User)
        .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if recorded.rowcount != 1:
        return False
    set_committed_value(user, "totp_last_step", step)
    return True


async def check_second_factor(session: AsyncSession, user: User, keyring: Keyring, code: str) -> bool:
    """A current authenticator code, or else one of the account's unused recovery codes."""
    if totp.looks_like_code(code):
        return await accept_totp(session, user, keyring, code)
    return await recovery_codes.use(session, user.id, code)


async def confirm_totp(session: AsyncSession, user: User, keyring: Keyring, code: str) -> list[str]:
    """Turn two-factor on with a first code; returns the new recovery codes, to show once."""
    if user.totp_enabled:
        raise AccountError("two-factor authentication is already on")
    if not await accept_totp(session, user, keyring, code):
        raise WrongCode("that code is not right; check your authenticator app's clock and try again")
    user.totp_enabled = True
    return await recovery_codes.issue(session, user.id)


async def regenerate_recovery_codes(session: AsyncSession, user: User, keyring: Keyring, code: str) -> list[str]:
    """Ten new recovery codes for a current authenticator code; the old ones stop working."""
    if not user.totp_enabled:
        raise AccountError("turn on two-factor authentication first")
    if not await accept_totp(session, user, keyring, code):
        raise WrongCode("that code is not right")
    return await recovery_codes.issue(session, user.id)


async def disable_totp(session: AsyncSession, user: User, keyring: Keyring, code: str) -> None:
    """Needs a current code, or a recovery code (the way back for someone who lost the phone)."""
    if user.is_admin:
        raise AccountError("administrators must keep two-factor authentication on")
    if not await check_second_factor(session, user, keyring, code):
        raise WrongCode("that code is not right")
    user.totp_enabled = False
    user.totp_secret = None
    await recovery_codes.discard(session, user.id)
