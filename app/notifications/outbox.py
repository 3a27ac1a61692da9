"""Enqueue notifications in the caller's transaction: what is committed is sent, and nothing else.

``notify`` fans one event out to the channels the user has switched on and can receive on
(an e-mail address always; Telegram once a chat is linked and the bot is configured). A
``dedupe_key`` makes "at most once" events idempotent across retries and workers.

Bursts: with ``coalesce`` (a window), the message waits that long and carries a ``coalesce_key``
(event type, user, channel, destination) and the ``payload`` it was rendered from. When the first
of a burst is delivered, every message with its key still pending goes out with it, as one list
(``dispatch``); a change after that starts the next burst.

Only price alerts reach every plan; the other events are the Pro "notifications" feature, so an
account without it gets none of them. Telegram messages are sent with parse_mode HTML: a plain
``body_text`` is escaped for it unless a ready ``telegram_text`` (Telegram's HTML subset) is given.
"""

from __future__ import annotations

import html
import json
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.entitlements import has_feature
from app.db.models import NotificationPreference, TelegramChat, User
from app.db.types import UTCDateTime, utcnow
from app.notifications.events import (
    CHANNELS,
    EVENT_TYPES,
    NOTIFICATIONS_FEATURE,
    OPEN_TO_ALL_PLANS,
    default_enabled,
)

_INSERT = text(
    "INSERT INTO outbox_messages (user_id, channel, destination, event_type, subject, body_text, body_html, "
    "dedupe_key, coalesce_key, payload, status, attempts, next_attempt_at, created_at) VALUES (:user_id, "
    ":channel, :destination, :event_type, :subject, :body_text, :body_html, :dedupe_key, :coalesce_key, "
    ":payload, 'pending', 0, :due, :now) ON CONFLICT (dedupe_key) DO NOTHING"
).bindparams(bindparam("now", type_=UTCDateTime()), bindparam("due", type_=UTCDateTime()))


def burst_key(event_type: str, user_id: int, channel: str, destination: str) -> str:
    return f"{event_type}:{user_id}:{channel}:{destination}"[:255]


async def preferences(session: AsyncSession, user_id: int) -> dict[tuple[str, str], bool]:
    rows = await session.execute(select(NotificationPreference).where(NotificationPreference.user_id == user_id))
    stored = {(r.event_type, r.channel): r.enabled for r in rows.scalars()}
    return {(e, c): stored.get((e, c), default_enabled(e, c)) for e in EVENT_TYPES for c in CHANNELS}


async def set_preference(session: AsyncSession, user_id: int, event_type: str, channel: str, enabled: bool) -> None:
    if event_type not in EVENT_TYPES or channel not in CHANNELS:
        raise ValueError(f"unknown notification {event_type}/{channel}")
    row = await session.get(NotificationPreference, (user_id, event_type, channel))
    if row is None:
        session.add(NotificationPreference(user_id=user_id, event_type=event_type, channel=channel, enabled=enabled))
    else:
        row.enabled = enabled


async def linked_chat(session: AsyncSession, user_id: int) -> TelegramChat | None:
    return (await session.execute(select(TelegramChat).where(
        TelegramChat.user_id == user_id, TelegramChat.active.is_(True)))).scalars().first()


async def _insert(session: AsyncSession, *, coalesce_key: str | None = None, payload: str | None = None,
                  due: datetime | None = None, **values) -> int:
    values.update(coalesce_key=coalesce_key, payload=payload, due=due or values["now"])
    return (await session.execute(_INSERT, values)).rowcount


async def notify(
    session: AsyncSession, user_id: int, event_type: str, subject: str, body_text: str,
    body_html: str | None = None, dedupe_key: str | None = None, telegram_enabled: bool = True,
    now: datetime | None = None, telegram_text: str | None = None, coalesce: timedelta | None = None,
    payload: dict | None = None, plan_checked: bool = False,
) -> int:
    """Queue the event for every channel the user wants; returns how many messages were queued.

    ``coalesce``: hold the message that long and send it together with the others of the same
    event type for this user and channel queued meanwhile; ``payload`` (JSON) is what a list of
    them is rendered from (``messages.render_digest``)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    user = await session.get(User, user_id)
    if user is None:
        return 0
    # plan_checked: an organization's message, paid for by the organization's plan, not the member's.
    if not plan_checked and event_type not in OPEN_TO_ALL_PLANS and not await has_feature(session, user_id, NOTIFICATIONS_FEATURE, now):
        return 0
    prefs = await preferences(session, user_id)
    now = now or utcnow()
    queued = 0
    destinations = {"email": user.email}
    if telegram_enabled:
        chat = await linked_chat(session, user_id)
        if chat is not None:
            destinations["telegram"] = str(chat.chat_id)
    for channel, destination in destinations.items():
        if not prefs[(event_type, channel)]:
            continue
        text_for_channel = body_text if channel == "email" else telegram_text or html.escape(body_text, quote=False)
        queued += await _insert(
            session, user_id=user_id, channel=channel, destination=destination, event_type=event_type,
            subject=subject, body_text=text_for_channel, body_html=body_html if channel == "email" else None,
            dedupe_key=f"{dedupe_key}:{channel}" if dedupe_key else None, now=now,
            coalesce_key=burst_key(event_type, user_id, channel, destination) if coalesce else None,
            payload=json.dumps(payload, default=str) if payload is not None else None,
            due=now + coalesce if coalesce else now,
        )
    return queued


async def notify_chat(session: AsyncSession, chat_id: int, event_type: str, body_text: str,
                      dedupe_key: str | None = None, now: datetime | None = None) -> int:
    """For bot users without an account (price alerts made in Telegram); ``body_text`` is Telegram HTML."""
    return await _insert(
        session, user_id=None, channel="telegram", destination=str(chat_id), event_type=event_type, subject="",
        body_text=body_text, body_html=None, dedupe_key=f"{dedupe_key}:telegram" if dedupe_key else None,
        now=now or utcnow(),
    )
