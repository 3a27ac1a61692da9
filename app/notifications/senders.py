"""Channel senders for the outbox: e-mail over SMTP (or the local outbox), Telegram via python-telegram-bot."""

from __future__ import annotations

import aiosmtplib
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from app.db.models import OutboxMessage
from app.notifications.dispatch import SendFailed, Sender
from app.notifications.mail import Mailer, build_message, mailer_from_settings
from app.settings import Settings


def outbox_message_id(message: OutboxMessage) -> str:
    """The Message-ID of an outbox message: the same on every attempt to send it (its creation time
    keeps two installations' message #5 apart)."""
    return f"<outbox-{message.id}.{int(message.created_at.timestamp() * 1_000_000)}@computehub.local>"


class EmailSender:
    def __init__(self, mailer: Mailer, sender_address: str) -> None:
        self.mailer = mailer
        self.sender_address = sender_address

    async def send(self, message: OutboxMessage) -> None:
        email = build_message(self.sender_address, message.destination, message.subject or "ComputeHub",
                              message.body_text, message.body_html, message_id=outbox_message_id(message))
        try:
            await self.mailer.send(email)
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise SendFailed(f"SMTP: {type(exc).__name__}: {exc}") from exc


class TelegramSender:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, message: OutboxMessage) -> None:
        try:
            await self.bot.send_message(chat_id=int(message.destination), text=message.body_text[:4096],
                                        parse_mode=ParseMode.HTML, disable_web_page_preview=True)
        except RetryAfter as exc:
            retry = exc.retry_after.total_seconds() if hasattr(exc.retry_after, "total_seconds") else exc.retry_after
            raise SendFailed("Telegram rate limit", retry_after=float(retry)) from exc
        except Forbidden as exc:  # blocked by the user, or never started the bot: stop sending there
            raise SendFailed(f"Telegram refused: {exc.message}", permanent=True, deactivate_chat=True) from exc
        except BadRequest as exc:
            raise SendFailed(f"Telegram bad request: {exc.message}", permanent=True) from exc
        except (NetworkError, TelegramError) as exc:
            raise SendFailed(f"Telegram: {exc}") from exc


def make_bot(settings: Settings) -> Bot:
    return Bot(settings.telegram.bot_token, request=HTTPXRequest(connection_pool_size=4))


def senders_from_settings(settings: Settings) -> dict[str, Sender]:
    senders: dict[str, Sender] = {"email": EmailSender(mailer_from_settings(settings.mail), settings.mail.sender)}
    if settings.telegram.enabled:
        senders["telegram"] = TelegramSender(make_bot(settings))
    return senders
