"""API tokens for the console API: made and revoked by their owner, shown once, stored as a hash.

A token is 240 random bits, so a plain SHA-256 of it is enough to look it up and cannot be
reversed; the prefix identifies it on the settings page and in the audit log.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.db.models import ApiToken, User
from app.db.types import utcnow

TOKEN_PREFIX = "chk_"
SHOWN_PREFIX = 12
MAX_ACTIVE = 20
EXPIRY_CHOICES = (7, 30, 90, 365)
"""Days a new token may live; None is "no expiry"."""
USE_STAMP_EVERY = timedelta(minutes=1)
"""``last_used_at`` is written at most this often: a busy script does not write on every call."""


class TokenError(ValueError):
    """A token that cannot be made as asked (name, expiry, too many): a 400 with this message."""


class NoSuchToken(LookupError):
    """Not one of the user's tokens: a 404, like a missing one."""


@dataclass(frozen=True)
class Authenticated:
    user: User
    token: ApiToken


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not 1 <= len(name) <= 80 or not name.isprintable():
        raise TokenError("give the token a name of 1 to 80 characters (what uses it: e.g. 'CI deploys')")
    return name


async def create_token(session: AsyncSession, user: User, name: str, *, can_write: bool,
                       expires_in_days: int | None, now: datetime | None = None) -> tuple[ApiToken, str]:
    """The row and the token itself, which is never stored and shown this once. The caller commits."""
    now = now or utcnow()
    name = _clean_name(name)
    if expires_in_days is not None and expires_in_days not in EXPIRY_CHOICES:
        raise TokenError(f"choose an expiry of {', '.join(map(str, EXPIRY_CHOICES))} days, or none")
    active = (await session.execute(select(func.count()).select_from(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)))).scalar_one()
    if active >= MAX_ACTIVE:
        raise TokenError(f"you have {MAX_ACTIVE} tokens: revoke one you no longer use first")
    token = TOKEN_PREFIX + secrets.token_urlsafe(30)
    row = ApiToken(user_id=user.id, name=name, prefix=token[:SHOWN_PREFIX], token_hash=token_hash(token),
                   can_write=can_write, created_at=now,
                   expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None)
    session.add(row)
    await session.flush()
    await audit.record(session, audit.personal(user.id), "api_token.created", audit.Actor.user(user),
                       target_type="api_token", target_id=row.id,
                       after={"name": name, "prefix": row.prefix, "can_write": can_write, "expires_at": row.expires_at})
    return row, token


async def list_tokens(session: AsyncSession, user_id: int) -> list[ApiToken]:
    rows = await session.execute(select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
                                 .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
    return list(rows.scalars())


async def revoke_token(session: AsyncSession, user: User, token_id: int, now: datetime | None = None) -> None:
    row = await session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        raise NoSuchToken("no such token")
    row.revoked_at = now or utcnow()
    await audit.record(session, audit.personal(user.id), "api_token.revoked", audit.Actor.user(user),
                       target_type="api_token", target_id=row.id, before={"name": row.name, "prefix": row.prefix})


async def authenticate(session: AsyncSession, presented: str, now: datetime | None = None) -> Authenticated | None:
    """The token's owner, or None for anything unknown, revoked, expired or of a deleted account."""
    now = now or utcnow()
    if not presented.startswith(TOKEN_PREFIX) or len(presented) > 100:
        return None
    row = (await session.execute(select(ApiToken).where(ApiToken.token_hash == token_hash(presented)))).scalar_one_or_none()
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    user = await session.get(User, row.user_id)
    if user is None or user.deleted_at is not None:
        return None
    if row.last_used_at is None or now - row.last_used_at >= USE_STAMP_EVERY:
        row.last_used_at = now
    return Authenticated(user, row)
