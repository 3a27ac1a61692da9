"""Delivering queued messages to Telegram: the real Bot against respx answering like the Bot API.

What a user sees is what reaches sendMessage (chat, text, parse mode); what the outbox records
after a rate limit or a blocked bot decides what happens next."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from app.db.models import TelegramChat
from app.notifications.dispatch import PER_CHAT_INTERVAL, RETRY_DELAYS, deliver_due
from app.notifications.outbox import notify, notify_chat
from app.notifications.senders import TelegramSender, make_bot
from tests.notifications.conftest import make_user, outbox

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
CHAT = 7770001


@pytest.fixture
def senders(settings, telegram):
    return {"telegram": TelegramSender(make_bot(settings))}


async def linked_pro(sessions, chat_id: int = CHAT) -> int:
    user_id = await make_user(sessions, "pro@example.com", "pro")
    async with sessions() as session, session.begin():
        session.add(TelegramChat(chat_id=chat_id, user_id=user_id, username="pro_tg", active=True,
                                 created_at=T0, linked_at=T0))
    return user_id


async def queue_failure(sessions, user_id: int, text: str, now: datetime = T0) -> None:
    async with sessions() as session, session.begin():
        await notify(session, user_id, "failure", "Failure", text, "<p>html</p>", now=now)


async def test_a_message_reaches_sendmessage_with_chat_text_and_parse_mode(sessions, senders, telegram):
    user_id = await linked_pro(sessions)
    await queue_failure(sessions, user_id, "train-7 on Lambda failed: <OOM>")

    report = await deliver_due(sessions, senders, now=T0)

    assert report.sent == 1
    [body] = telegram.sent()
    assert body["chat_id"] == str(CHAT)
    assert body["text"] == "train-7 on Lambda failed: &lt;OOM&gt;"
    assert body["parse_mode"] == "HTML"
    [message] = await outbox(sessions, channel="telegram")
    assert (message.status, message.attempts, message.sent_at is not None) == ("sent", 1, True)


async def test_429_retry_after_postpones_the_message_by_that_long(sessions, senders, telegram):
    user_id = await linked_pro(sessions)
    await queue_failure(sessions, user_id, "first")
    telegram.fail_next_send(429, "Too Many Requests: retry after 37", retry_after=37)

    report = await deliver_due(sessions, senders, now=T0)

    [message] = await outbox(sessions, channel="telegram")
    assert report.retried == 1
    assert (message.status, message.attempts) == ("pending", 1)
    assert message.next_attempt_at == T0 + timedelta(seconds=37)  # Telegram's wait, not our 1-minute default
    assert "rate limit" in message.last_error

    # Not due before then: nothing is sent.
    assert (await deliver_due(sessions, senders, now=T0 + timedelta(seconds=30))).sent == 0
    assert len(telegram.sent()) == 1
    assert (await deliver_due(sessions, senders, now=T0 + timedelta(seconds=37))).sent == 1
    [message] = await outbox(sessions, channel="telegram")
    assert (message.status, message.attempts) == ("sent", 2)


async def test_a_blocked_bot_deactivates_the_chat_and_nothing_more_goes_there(sessions, senders, telegram):
    user_id = await linked_pro(sessions)
    await queue_failure(sessions, user_id, "first")
    await queue_failure(sessions, user_id, "second")
    telegram.fail_next_send(403, "Forbidden: bot was blocked by the user")

    await deliver_due(sessions, senders, now=T0)

    first, second = await outbox(sessions, channel="telegram")
    assert (first.status, first.last_error) == ("dead", "Telegram refused: Forbidden: bot was blocked by the user")
    assert second.status == "dead"  # same run, same chat: not even tried
    assert len(telegram.sent()) == 1
    async with sessions() as session:
        assert (await session.get(TelegramChat, CHAT)).active is False
    # Later events go by e-mail only.
    await queue_failure(sessions, user_id, "third", now=T0 + timedelta(minutes=1))
    assert [m.body_text for m in await outbox(sessions, channel="telegram")] == ["first", "second"]
    assert [m.body_text for m in await outbox(sessions, channel="email")] == ["first", "second", "third"]


async def test_messages_queued_before_stop_are_not_sent(sessions, senders, telegram):
    async with sessions() as session, session.begin():
        session.add(TelegramChat(chat_id=CHAT, user_id=None, active=True, created_at=T0))
        await notify_chat(session, CHAT, "price_alert", "H100 at <b>$1.90</b>", now=T0)
    async with sessions() as session, session.begin():
        (await session.get(TelegramChat, CHAT)).active = False  # /stop arrived

    report = await deliver_due(sessions, senders, now=T0)

    assert (report.sent, report.dead) == (0, 1)
    assert telegram.sent() == []
    [message] = await outbox(sessions)
    assert message.last_error == "the chat stopped the bot"


async def test_one_message_per_chat_per_second(sessions, senders, telegram):
    user_id = await linked_pro(sessions)
    for text in ("one", "two"):
        await queue_failure(sessions, user_id, text)

    report = await deliver_due(sessions, {"telegram": senders["telegram"]}, now=T0)

    assert (report.sent, report.deferred) == (1, 1)
    assert [m["text"] for m in telegram.sent()] == ["one"]
    _, second = await outbox(sessions, channel="telegram")
    assert (second.status, second.next_attempt_at, second.attempts) == ("pending", T0 + PER_CHAT_INTERVAL, 0)
    await deliver_due(sessions, senders, now=T0 + PER_CHAT_INTERVAL)
    assert [m["text"] for m in telegram.sent()] == ["one", "two"]


async def test_a_network_failure_is_retried_then_given_up_after_the_last_delay(sessions, senders, telegram):
    user_id = await linked_pro(sessions)
    await queue_failure(sessions, user_id, "flaky")
    telegram.always_fail = telegram.error(502, "Bad Gateway")

    now = T0
    for delay in RETRY_DELAYS:
        await deliver_due(sessions, senders, now=now)
        [message] = await outbox(sessions, channel="telegram")
        assert message.status == "pending" and message.next_attempt_at == now + delay
        now = message.next_attempt_at
    await deliver_due(sessions, senders, now=now)

    [message] = await outbox(sessions, channel="telegram")
    assert (message.status, message.attempts) == ("dead", len(RETRY_DELAYS) + 1)
    assert "Bad Gateway" in message.last_error
