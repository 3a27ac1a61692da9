"""Outgoing email: SMTP in production (SES, SendGrid or any server), a local outbox in local runs.

Callers send after their transaction committed, so no mail goes out for work that rolled back.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol

import aiosmtplib

from app.settings import MailSettings

log = logging.getLogger(__name__)


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


def build_message(sender: str, to: str, subject: str, text: str, html: str | None = None, *,
                  message_id: str | None = None) -> EmailMessage:
    """``message_id``: a stable id (the outbox's), so a message sent again after a crash between the
    send and its record is the same message to the receiving mail system, which keeps one copy."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    message["Message-ID"] = message_id or make_msgid(domain="computehub.local")
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


class OutboxMailer:
    """Writes each message as an .eml file into a folder (``var/outbox`` in local runs)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        path = self.directory / f"{stamp}.eml"
        path.write_bytes(bytes(message))
        log.info("mail to %s written to %s", message["To"], path)


class SmtpMailer:
    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    async def send(self, message: EmailMessage) -> None:
        s = self.settings
        await aiosmtplib.send(
            message,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username or None,
            password=s.smtp_password or None,
            start_tls=s.smtp_starttls,
            timeout=20,
        )


def mailer_from_settings(settings: MailSettings) -> Mailer:
    if settings.backend == "smtp":
        return SmtpMailer(settings)
    if settings.backend == "outbox":
        return OutboxMailer(settings.outbox_dir)
    raise ValueError(f"unknown mail backend {settings.backend!r} (outbox or smtp)")


async def send_after_commit(settings: MailSettings, to: str, subject: str, text: str) -> bool:
    """One transactional mail (a reset, an e-mail change, an invitation), sent after the caller's
    commit; a failure is logged and answered False, never raised (the page says so)."""
    try:
        await mailer_from_settings(settings).send(build_message(settings.sender, to, subject, text))
    except Exception:  # noqa: BLE001 - SMTP and file errors alike
        log.exception("mail (%s) could not be sent", subject)
        return False
    return True
