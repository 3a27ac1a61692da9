"""Recording an audit event, in the same transaction as the change it records.

An append locks its workspace's chain head first (an UPDATE: a row lock on PostgreSQL, the write
lock on SQLite), so two changes in one workspace never take the same place in the chain, on any
number of processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.chain import GENESIS, event_hash, jsonable
from app.audit.origin import current_origin
from app.db.models import AuditChainHead, AuditEvent, User
from app.db.types import utcnow


def personal(user_id: int) -> str:
    """The workspace key of a user's personal workspace."""
    return f"user:{user_id}"


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    label: str
    """How the actor is shown: an e-mail address, or ``system`` / ``stripe`` for work no person did."""

    @classmethod
    def user(cls, user) -> "Actor":
        return cls(user.id, user.email)


async def actor_for(session: AsyncSession, user_id: int) -> Actor:
    """The signed-in user making a change in a service that was given only the id (usually already loaded)."""
    user = await session.get(User, user_id)
    return Actor(user_id, user.email if user else f"user {user_id}")


SYSTEM = Actor(None, "system")
AUTO_REPAIR = Actor(None, "auto-repair")
STRIPE = Actor(None, "stripe")


async def record(session: AsyncSession, workspace: str, action: str, actor: Actor, *, target_type: str = "",
                 target_id: Any = "", project: int | str | None = "", before: dict | None = None, after: dict | None = None,
                 at: datetime | None = None) -> AuditEvent:
    """``project``: the id of the organization's project the change belongs to (the activity log's
    project filter), if any."""
    origin = current_origin.get()
    at = at or utcnow()
    seq, prev_hash = await _next_place(session, workspace, at)
    fields = {
        "workspace": workspace, "seq": seq, "at": at, "action": action, "actor_user_id": actor.user_id,
        "actor": actor.label[:320], "target_type": target_type, "target_id": str(target_id)[:64],
        "project": "" if project is None else str(project)[:64], "address": (origin.address if origin else "")[:64],
        "user_agent": (origin.user_agent if origin else "")[:300],
        "request_id": (origin.request_id if origin else "")[:40],
        "via": (origin.via if origin else "")[:64],
        "before": jsonable(before) if before is not None else None,
        "after": jsonable(after) if after is not None else None, "prev_hash": prev_hash,
    }
    event = AuditEvent(**fields, hash=event_hash(fields))
    session.add(event)
    await session.execute(update(AuditChainHead).where(AuditChainHead.workspace == workspace)
                          .values(last_hash=event.hash))
    return event


async def _next_place(session: AsyncSession, workspace: str, at: datetime) -> tuple[int, str]:
    claimed = await _claim_next(session, workspace, at)
    if claimed is not None:
        return claimed
    # The workspace's first event. A savepoint, so a concurrent first event (unique key) retries
    # as a normal append instead of failing the caller's transaction.
    try:
        async with session.begin_nested():
            session.add(AuditChainHead(workspace=workspace, seq=1, last_hash=GENESIS, updated_at=at))
        return 1, GENESIS
    except IntegrityError:
        return await _claim_next(session, workspace, at)


async def _claim_next(session: AsyncSession, workspace: str, at: datetime) -> tuple[int, str] | None:
    """Bump the chain head (the lock every append in this workspace queues on): the new place and
    the previous event's hash; None while the workspace has no head yet."""
    claimed = (await session.execute(
        update(AuditChainHead).where(AuditChainHead.workspace == workspace)
        .values(seq=AuditChainHead.seq + 1, updated_at=at)
        .returning(AuditChainHead.seq, AuditChainHead.last_hash))).first()
    return (claimed.seq, claimed.last_hash) if claimed is not None else None
