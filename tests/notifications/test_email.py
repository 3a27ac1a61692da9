"""E-mail delivery against a real SMTP server (aiosmtpd) on 127.0.0.1: the message that arrives
is what a user's mail program shows; an SMTP failure keeps the message queued, with its error."""

from __future__ import annotations

import email
import socket
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from app.notifications.dispatch import RETRY_DELAYS, deliver_due
from app.notifications.mail import SmtpMailer
from app.notifications.messages import send_event
from app.notifications.senders import EmailSender
from app.settings import MailSettings
from tests.notifications.conftest import BASE_URL, make_user, outbox

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
SENDER = "ComputeHub <alerts@computehub.test>"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """An aiosmtpd handler: keeps what arrives, or answers every message with ``reply``."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.reply: str | None = None

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.reply:
            return self.reply
        self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


def email_sender(port: int) -> dict:
    mail = MailSettings(backend="smtp", sender=SENDER, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False)
    return {"email": EmailSender(SmtpMailer(mail), mail.sender)}


async def queue_price_alert(sessions, user_id: int, now: datetime = T0) -> None:
    async with sessions() as session, session.begin():
        await send_event(session, user_id, "price_alert", base_url=BASE_URL, telegram_enabled=True, now=now,
                         gpu_name="H100 SXM 80GB", price=Decimal("1.89"), max_price=Decimal("2.00"),
                         provider_name="Lambda", region="us-east-1", market="on-demand",
                         age_label="live: just now", offers_url=f"{BASE_URL}/gpus/h100")


def parts(message: EmailMessage) -> tuple[str, str]:
    return (message.get_body(preferencelist=("plain",)).get_content(),
            message.get_body(preferencelist=("html",)).get_content())


async def test_the_message_arrives_with_subject_text_and_html(sessions, smtp):
    user_id = await make_user(sessions, "alice@example.com", "pro")
    await queue_price_alert(sessions, user_id)

    report = await deliver_due(sessions, email_sender(smtp.port), now=T0)

    assert report.sent == 1
    [message] = smtp.inbox.messages
    assert message["To"] == "alice@example.com" and message["From"] == SENDER
    assert message["Subject"] == "H100 SXM 80GB at $1.89/GPU-h (your alert: $2.00)"
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    assert "H100 SXM 80GB is now $1.89 per GPU-hour on Lambda (us-east-1, on-demand)" in text
    assert f"{BASE_URL}/settings/notifications" in text
    assert "<strong>H100 SXM 80GB</strong>" in html and f'href="{BASE_URL}/gpus/h100"' in html
    [row] = await outbox(sessions, channel="email")
    assert row.status == "sent"


async def test_a_message_sent_again_after_a_crash_keeps_its_message_id(sessions, smtp):
    """The worker died between the send and its record: the claim lapses and the message goes out
    again, as the same message (the receiving mail system keeps one copy of a Message-ID)."""
    from sqlalchemy import update

    from app.db.models import OutboxMessage

    user_id = await make_user(sessions, "alice@example.com", "pro")
    await queue_price_alert(sessions, user_id)
    await queue_price_alert(sessions, user_id, now=T0 + timedelta(seconds=1))
    await deliver_due(sessions, email_sender(smtp.port), now=T0 + timedelta(seconds=1))
    async with sessions() as session, session.begin():  # what the dead worker never wrote
        await session.execute(update(OutboxMessage).values(status="pending", claimed_until=None))

    await deliver_due(sessions, email_sender(smtp.port), now=T0 + timedelta(seconds=2))

    ids = [m["Message-ID"] for m in smtp.inbox.messages]
    assert len(ids) == 4 and len(set(ids)) == 2 and ids[:2] == ids[2:]


async def test_server_down_keeps_the_message_pending_with_the_error_then_the_next_run_delivers(sessions):
    port = free_port()  # nothing listens there yet
    user_id = await make_user(sessions, "alice@example.com", "pro")
    await queue_price_alert(sessions, user_id)

    report = await deliver_due(sessions, email_sender(port), now=T0)

    [row] = await outbox(sessions, channel="email")
    assert report.retried == 1
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, T0 + RETRY_DELAYS[0])
    assert row.last_error.startswith("SMTP: ")

    server = SmtpServer(port)
    server.start()
    try:
        report = await deliver_due(sessions, email_sender(port), now=T0 + RETRY_DELAYS[0])
    finally:
        server.stop()
    [row] = await outbox(sessions, channel="email")
    assert report.sent == 1 and (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    [message] = server.inbox.messages
    assert message["Subject"].startswith("H100 SXM 80GB at $1.89")


async def test_a_451_answer_keeps_the_message_pending_then_it_goes_through(sessions, smtp):
    user_id = await make_user(sessions, "alice@example.com", "pro")
    await queue_price_alert(sessions, user_id)
    smtp.inbox.reply = "451 4.3.0 Mail server temporarily rejected message"

    await deliver_due(sessions, email_sender(smtp.port), now=T0)

    [row] = await outbox(sessions, channel="email")
    assert row.status == "pending" and "451" in row.last_error and "temporarily rejected" in row.last_error
    assert smtp.inbox.messages == []

    smtp.inbox.reply = None
    await deliver_due(sessions, email_sender(smtp.port), now=T0 + timedelta(minutes=1))
    [row] = await outbox(sessions, channel="email")
    assert row.status == "sent" and len(smtp.inbox.messages) == 1
