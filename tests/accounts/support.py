"""Reading the outbox, and the account's row as stored."""

from __future__ import annotations

import email
import re
from email import policy
from email.message import EmailMessage

from sqlalchemy import select

from app.db.models import User


def outbox(settings) -> list[EmailMessage]:
    folder = settings.mail.outbox_dir
    files = sorted(folder.glob("*.eml")) if folder.exists() else []
    return [email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]


def body(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link_path(message: EmailMessage, settings, prefix: str) -> str:
    found = re.search(re.escape(settings.web.base_url.rstrip("/")) + "(" + re.escape(prefix) + r"/[A-Za-z0-9_-]+)\s",
                      body(message))
    assert found, body(message)
    return found.group(1)


async def stored_user(sessions, user_id: int) -> User:
    async with sessions() as session:
        return await session.get(User, user_id)


async def user_by_email(sessions, address: str) -> User | None:
    async with sessions() as session:
        return (await session.execute(select(User).where(User.email == address))).scalar_one_or_none()
