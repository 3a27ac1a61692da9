"""Deliver the outbox: claim due messages, send with no transaction open, record the outcome.

A failed send is retried with growing delays and never lost; after the last retry the message is
kept as ``dead`` with its error. Claims expire, so a worker that dies mid-send only delays a
message. Telegram's limits are respected: at most one message per chat per second from here, and
a 429's ``retry_after`` postpones that message.

Bursts: a claimed message with a ``coalesce_key`` takes along every other message of its key that
is still pending and unclaimed (due or not): in the claim's transaction they become ``merged`` and
the claimed one is rendered again as the list of all of them. Each message is claimed by one
conditional UPDATE, so across workers every change is in exactly one sent message, and delivering
again finds nothing left to send.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import OutboxMessage, TelegramChat
from app.db.types import utcnow
from app.notifications.messages import render_digest

log = logging.getLogger(__name__)
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1),
                timedelta(hours=6))
CLAIM_TTL = timedelta(minutes=2)
PER_CHAT_INTERVAL = timedelta(seconds=1)


class SendFailed(Exception):
    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False,
                 deactivate_chat: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent
        self.deactivate_chat = deactivate_chat


class Sender(Protocol):
    async def send(self, message: OutboxMessage) -> None:
        """Deliver or raise SendFailed."""


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    deferred: int = 0


async def _claim(sessions: async_sessionmaker[AsyncSession], now: datetime, limit: int) -> list[OutboxMessage]:
    token_until = now + CLAIM_TTL
    async with sessions() as session, session.begin():
        due = (await session.execute(
            select(OutboxMessage.id, OutboxMessage.coalesce_key).where(
                OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit))).all()
        claimed, bursts = [], set()
        for message_id, burst in due:  # one conditional update each: two workers never claim the same row
            if burst is not None and burst in bursts:
                continue  # goes out with the message of its burst claimed just before
            won = await session.execute(
                update(OutboxMessage).where(
                    OutboxMessage.id == message_id, OutboxMessage.status == "pending",
                    or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))
                .values(claimed_until=token_until))
            if won.rowcount == 1:
                claimed.append(message_id)
                if burst is not None:
                    bursts.add(burst)
        rows = sorted((await session.execute(select(OutboxMessage).where(OutboxMessage.id.in_(claimed)))).scalars(),
                      key=lambda m: m.id)
        for message in rows:
            if message.coalesce_key:
                await _take_along(session, message, now)
        return rows


def _loads(raw: str | None) -> list[dict]:
    """A message's payload: one rendering context, or the list a burst was sent as."""
    data = json.loads(raw) if raw else []
    return data if isinstance(data, list) else [data]


def _payloads(message: OutboxMessage) -> list[dict]:
    return _loads(message.payload)


async def _take_along(session: AsyncSession, leader: OutboxMessage, now: datetime) -> None:
    """Merge the rest of the leader's burst into it, in the claim's transaction."""
    others = (await session.execute(
        select(OutboxMessage.id, OutboxMessage.payload).where(
            OutboxMessage.coalesce_key == leader.coalesce_key, OutboxMessage.status == "pending",
            OutboxMessage.id != leader.id,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))
        .order_by(OutboxMessage.id))).all()
    if not others:
        return
    try:  # rendered before anything is merged: a template bug sends them one by one, never stalls the outbox
        render_digest(leader.event_type, _payloads(leader) + [p for _, raw in others for p in _loads(raw)])
    except Exception:  # noqa: BLE001
        log.exception("rendering the burst of outbox message %s failed; sending its messages one by one", leader.id)
        return
    payloads = _payloads(leader)
    for other_id, raw in others:
        won = await session.execute(
            update(OutboxMessage).where(
                OutboxMessage.id == other_id, OutboxMessage.status == "pending",
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))
            .values(status="merged"))
        if won.rowcount == 1:  # else another worker claimed it meanwhile: it goes out with theirs
            payloads.extend(_loads(raw))
    if len(payloads) == len(_payloads(leader)):
        return
    digest = render_digest(leader.event_type, payloads)
    leader.payload = json.dumps(payloads, default=str)
    leader.subject = digest.subject[:255]
    if leader.channel == "email":
        leader.body_text, leader.body_html = digest.text, digest.html
    else:
        leader.body_text, leader.body_html = digest.telegram, None


async def deliver_due(
    sessions: async_sessionmaker[AsyncSession], senders: dict[str, Sender], now: datetime | None = None,
    limit: int = 100,
) -> DispatchReport:
    now = now or utcnow()
    report = DispatchReport()
    last_to_chat: dict[str, datetime] = {}
    claimed = await _claim(sessions, now, limit)
    stopped = await _stopped_chats(sessions, claimed)
    for message in claimed:
        outcome: dict = {"claimed_until": None}
        sender = senders.get(message.channel)
        if message.channel == "telegram" and message.destination in stopped:
            # Queued before the chat sent /stop or blocked the bot: it asked for nothing more.
            outcome.update(status="dead", last_error="the chat stopped the bot")
            report.dead += 1
        elif message.channel == "telegram" and message.destination in last_to_chat:
            outcome.update(next_attempt_at=last_to_chat[message.destination] + PER_CHAT_INTERVAL)
            report.deferred += 1
        elif sender is None:
            outcome.update(status="dead", last_error=f"the {message.channel} channel is not configured")
            report.dead += 1
        else:
            try:
                await sender.send(message)  # network: no transaction is open
                outcome.update(status="sent", sent_at=utcnow(), attempts=message.attempts + 1, last_error=None)
                report.sent += 1
                if message.channel == "telegram":
                    last_to_chat[message.destination] = now
            except SendFailed as exc:
                outcome.update(_failure(message, exc, now))
                report.dead += outcome["status"] == "dead"
                report.retried += outcome["status"] == "pending"
                if exc.deactivate_chat:
                    await _deactivate_chat(sessions, message.destination)
                    stopped.add(message.destination)
            except Exception as exc:  # noqa: BLE001 - an unexpected sender bug must not lose the message
                log.exception("sending outbox message %s failed", message.id)
                outcome.update(_failure(message, SendFailed(f"{type(exc).__name__}: {exc}"), now))
                report.retried += outcome["status"] == "pending"
                report.dead += outcome["status"] == "dead"
        async with sessions() as session, session.begin():
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id).values(**outcome))
    return report


def _failure(message: OutboxMessage, exc: SendFailed, now: datetime) -> dict:
    attempts = message.attempts + 1
    if exc.permanent or attempts > len(RETRY_DELAYS):
        return {"status": "dead", "attempts": attempts, "last_error": str(exc)[:1000]}
    delay = timedelta(seconds=exc.retry_after) if exc.retry_after else RETRY_DELAYS[attempts - 1]
    return {"status": "pending", "attempts": attempts, "last_error": str(exc)[:1000], "next_attempt_at": now + delay}


async def _stopped_chats(sessions: async_sessionmaker[AsyncSession], messages: list[OutboxMessage]) -> set[str]:
    chat_ids = {int(m.destination) for m in messages if m.channel == "telegram"}
    if not chat_ids:
        return set()
    async with sessions() as session:
        rows = await session.execute(select(TelegramChat.chat_id).where(
            TelegramChat.chat_id.in_(chat_ids), TelegramChat.active.is_(False)))
        return {str(chat_id) for chat_id in rows.scalars()}


async def _deactivate_chat(sessions: async_sessionmaker[AsyncSession], destination: str) -> None:
    async with sessions() as session, session.begin():
        chat = await session.get(TelegramChat, int(destination))
        if chat is not None:
            chat.active = False


