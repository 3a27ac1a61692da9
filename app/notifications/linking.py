"""Linking a Telegram chat to an account through a one-time deep link.

The settings page makes a random token and shows ``https://t.me/<bot>?start=<token>``; opening it
sends ``/start <token>`` to the bot, which links the chat. Only the token's SHA-256 is stored
(a database leak leaks no usable link), it expires after ``LINK_TTL`` and works once: redeeming
is one conditional UPDATE, so two chats racing with the same token cannot both win.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import TelegramChat, TelegramLinkToken
from app.db.types import utcnow

LINK_TTL = timedelta(minutes=15)
TOKEN_BYTES = 32
"""43 base64url characters: within Telegram's 64-character limit for a start parameter."""
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def deep_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username.lstrip('@')}?start={token}"


async def create_link_token(session: AsyncSession, user_id: int, now: datetime | None = None) -> str:
    """A fresh token for ``user_id`` (earlier unused ones stop working); the caller commits."""
    now = now or utcnow()
    await session.execute(delete(TelegramLinkToken).where(
        TelegramLinkToken.user_id == user_id, TelegramLinkToken.used_at.is_(None)))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(TelegramLinkToken(token_hash=hash_token(token), user_id=user_id, expires_at=now + LINK_TTL))
    await session.flush()
    return token


async def register_chat(session: AsyncSession, chat_id: int, username: str | None,
                        now: datetime | None = None) -> TelegramChat:
    """The chat that just talked to the bot, (re)activated: /start after /stop turns messages back on."""
    chat = await session.get(TelegramChat, chat_id)
    if chat is None:
        chat = TelegramChat(chat_id=chat_id, user_id=None, created_at=now or utcnow())
        session.add(chat)
    chat.username, chat.active = (username or None), True
    await session.flush()
    return chat


async def redeem_link_token(session: AsyncSession, token: str, chat_id: int, username: str | None,
                            now: datetime | None = None) -> int | None:
    """Link the chat to the token's account and return its user id; None if the token is unknown,
    expired or already used. The caller commits."""
    now = now or utcnow()
    if not _TOKEN_SHAPE.match(token or ""):
        return None
    token_hash = hash_token(token)
    won = await session.execute(
        update(TelegramLinkToken).where(
            TelegramLinkToken.token_hash == token_hash, TelegramLinkToken.used_at.is_(None),
            TelegramLinkToken.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False))
    if won.rowcount != 1:
        return None
    user_id = (await session.execute(select(TelegramLinkToken.user_id).where(
        TelegramLinkToken.token_hash == token_hash))).scalar_one()
    # One chat per account: linking a new chat unlinks the previous one.
    await session.execute(update(TelegramChat).where(TelegramChat.user_id == user_id, TelegramChat.chat_id != chat_id)
                          .values(user_id=None).execution_options(synchronize_session=False))
    chat = await register_chat(session, chat_id, username, now)
    chat.user_id, chat.linked_at = user_id, now
    return user_id


async def unlink(session: AsyncSession, user_id: int) -> bool:
    """Detach the account's chat (the chat itself may go on using the bot); the caller commits."""
    result = await session.execute(update(TelegramChat).where(TelegramChat.user_id == user_id)
                                   .values(user_id=None, linked_at=None).execution_options(synchronize_session=False))
    return result.rowcount > 0


async def stop_chat(session: AsyncSession, chat_id: int, now: datetime | None = None) -> None:
    """/stop: nothing more is sent to this chat until it sends /start again."""
    chat = await session.get(TelegramChat, chat_id)
    if chat is None:
        chat = TelegramChat(chat_id=chat_id, user_id=None, created_at=now or utcnow())
        session.add(chat)
    chat.active = False


async def chat_for_user(session: AsyncSession, user_id: int) -> TelegramChat | None:
    return (await session.execute(select(TelegramChat).where(TelegramChat.user_id == user_id)
                                  .order_by(TelegramChat.linked_at.desc()))).scalars().first()
