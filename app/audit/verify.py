"""``computehub audit verify``: recompute every workspace's chain from the stored events."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.chain import HASHED_FIELDS, Break, verify_chain
from app.db.models import AuditChainHead, AuditEvent


@dataclass
class Verification:
    workspaces: int = 0
    events: int = 0
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


async def verify_all(sessions: async_sessionmaker[AsyncSession], workspace: str | None = None) -> Verification:
    result = Verification()
    async with sessions() as session:
        heads = {h.workspace: h for h in (await session.execute(select(AuditChainHead))).scalars()}
        logged = set((await session.execute(select(AuditEvent.workspace).distinct())).scalars())
        names = sorted((heads.keys() | logged) if workspace is None else {workspace})
        for name in names:
            events = await _events(session, name)
            result.workspaces += 1
            result.events += len(events)
            head = heads.get(name)
            broken = verify_chain(name, events, head.seq if head else None, head.last_hash if head else None)
            if broken:
                result.breaks.append(broken)
    return result


async def _events(session: AsyncSession, workspace: str) -> list[dict]:
    columns = [getattr(AuditEvent, name) for name in HASHED_FIELDS] + [AuditEvent.hash]
    rows = await session.execute(select(*columns).where(AuditEvent.workspace == workspace).order_by(AuditEvent.seq))
    return [dict(row._mapping) for row in rows]
