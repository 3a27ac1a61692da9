"""One-time recovery codes for two-factor authentication: ten per enrolment, stored hashed.

A code is 16 random base32 characters (80 bits), shown as ``abcd-efgh-ijkl-mnop``. Stored as
SHA-256 of the code salted with the user id. A fast hash is enough here, unlike for passwords:
80 random bits cannot be found from a leaked hash by guessing (at 10^10 hashes a second that is
millions of years per code), while a slow hash would only cost every login. The salt keeps equal
codes of two users from having equal hashes.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import RecoveryCode
from app.db.types import utcnow

COUNT = 10
_LENGTH = 16
_CODE = re.compile(rf"[a-z2-7]{{{_LENGTH}}}")


def _new_code() -> str:
    raw = base64.b32encode(os.urandom(10)).decode().lower()  # 10 bytes = 16 base32 characters
    return "-".join(raw[i:i + 4] for i in range(0, _LENGTH, 4))


def normalize(code: str) -> str | None:
    """The code as stored (lower case, no dashes or spaces), or None when it cannot be one."""
    cleaned = (code or "")[:64].replace("-", "").replace(" ", "").strip().lower()
    return cleaned if _CODE.fullmatch(cleaned) else None


def code_hash(user_id: int, normalized: str) -> str:
    return hashlib.sha256(f"computehub-recovery:{user_id}:{normalized}".encode()).hexdigest()


async def issue(session: AsyncSession, user_id: int) -> list[str]:
    """Replace the account's codes by ten new ones; returns them for showing once."""
    await discard(session, user_id)
    codes = [_new_code() for _ in range(COUNT)]
    session.add_all(RecoveryCode(user_id=user_id, code_hash=code_hash(user_id, normalize(code)))
                    for code in codes)
    await session.flush()
    return codes


async def use(session: AsyncSession, user_id: int, code: str, now: datetime | None = None) -> bool:
    """Spend one code. A conditional write: two concurrent uses of one code cannot both succeed."""
    normalized = normalize(code)
    if normalized is None:
        return False
    spent = await session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.code_hash == code_hash(user_id, normalized),
               RecoveryCode.used_at.is_(None))
        .values(used_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return spent.rowcount == 1


async def remaining(session: AsyncSession, user_id: int) -> int:
    return (await session.execute(
        select(func.count()).select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )).scalar_one()


async def discard(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id)
                          .execution_options(synchronize_session=False))
