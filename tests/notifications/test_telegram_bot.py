"""The Telegram bot through its webhook, as Telegram drives it: POST /webhooks/telegram with the
secret header, the real python-telegram-bot Application, replies checked at the Bot API (respx)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db.models import PriceAlert, TelegramChat, TelegramLinkToken
from app.db.types import utcnow
from app.notifications import linking
from app.notifications.outbox import notify
from litestar.testing import AsyncTestClient
from tests.notifications.conftest import WEBHOOK_SECRET, BOT_USERNAME, make_user, outbox, telegram_update
from tests.support.factories import make_offer, seed

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALICE_CHAT = 5550001
BOB_CHAT = 5550002


@pytest.fixture
async def client(app):
    async with AsyncTestClient(app=app) as client:
        yield client


async def send(client, chat_id: int, text: str, *, secret: str | None = WEBHOOK_SECRET, update_id: int = 1,
               username: str | None = "alice_tg"):
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    return await client.post("/webhooks/telegram", json=telegram_update(chat_id, text, update_id=update_id,
                                                                         username=username), headers=headers)


async def chat_row(sessions, chat_id: int) -> TelegramChat | None:
    async with sessions() as session:
        return await session.get(TelegramChat, chat_id)


async def new_token(sessions, user_id: int, now=None) -> str:
    async with sessions() as session, session.begin():
        return await linking.create_link_token(session, user_id, now=now)


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", WEBHOOK_SECRET + "x"])
async def test_an_update_without_the_right_secret_is_refused_and_nothing_happens(sessions, client, telegram, secret):
    alice = await make_user(sessions, "alice@example.com", "pro")
    token = await new_token(sessions, alice)

    response = await send(client, ALICE_CHAT, f"/start {token}", secret=secret)

    assert response.status_code == 403
    assert await chat_row(sessions, ALICE_CHAT) is None
    async with sessions() as session:
        assert (await session.get(TelegramLinkToken, linking.hash_token(token))).used_at is None
    assert telegram.router.calls.call_count == 0  # not even getMe: the bot was never started


async def test_start_with_the_token_links_the_chat_and_says_so(sessions, client, telegram):
    alice = await make_user(sessions, "alice@example.com", "pro")
    token = await new_token(sessions, alice)
    assert len(token) <= 64 and linking.deep_link(BOT_USERNAME, token) == f"https://t.me/{BOT_USERNAME}?start={token}"

    response = await send(client, ALICE_CHAT, f"/start {token}")

    assert response.status_code == 200
    chat = await chat_row(sessions, ALICE_CHAT)
    assert (chat.user_id, chat.username, chat.active) == (alice, "alice_tg", True)
    [reply] = telegram.sent()
    assert reply["chat_id"] == str(ALICE_CHAT) and reply["parse_mode"] == "HTML"
    assert "linked to your ComputeHub account" in reply["text"]
    # Only the token's hash is stored.
    async with sessions() as session:
        stored = list((await session.execute(select(TelegramLinkToken.token_hash))).scalars())
    assert stored == [linking.hash_token(token)] and token not in stored

    # The account now hears about things on Telegram too.
    async with sessions() as session, session.begin():
        queued = await notify(session, alice, "failure", "Failure", "gpu-1 failed: <disk full> & more")
    assert queued == 2
    [to_chat] = await outbox(sessions, channel="telegram")
    assert to_chat.destination == str(ALICE_CHAT)
    assert to_chat.body_text == "gpu-1 failed: &lt;disk full&gt; &amp; more"  # plain text, escaped for HTML mode


async def test_a_used_token_is_refused_and_the_first_chat_stays_linked(sessions, client, telegram):
    alice = await make_user(sessions, "alice@example.com", "pro")
    token = await new_token(sessions, alice)
    await send(client, ALICE_CHAT, f"/start {token}", update_id=1)

    await send(client, BOB_CHAT, f"/start {token}", update_id=2, username="mallory")

    assert (await chat_row(sessions, ALICE_CHAT)).user_id == alice
    assert (await chat_row(sessions, BOB_CHAT)) is None
    [refusal] = telegram.texts_to(BOB_CHAT)
    assert "expired or was already used" in refusal


async def test_an_expired_token_is_refused(sessions, client, telegram):
    alice = await make_user(sessions, "alice@example.com", "pro")
    token = await new_token(sessions, alice, now=utcnow() - linking.LINK_TTL - timedelta(seconds=1))

    await send(client, ALICE_CHAT, f"/start {token}")

    assert await chat_row(sessions, ALICE_CHAT) is None
    assert "expired or was already used" in telegram.texts_to(ALICE_CHAT)[0]


async def test_a_garbage_token_is_refused(sessions, client, telegram):
    await send(client, ALICE_CHAT, "/start ../../etc/passwd")
    assert "expired or was already used" in telegram.texts_to(ALICE_CHAT)[0]
    assert await chat_row(sessions, ALICE_CHAT) is None


async def test_plain_start_greets_and_explains(sessions, client, telegram):
    await send(client, ALICE_CHAT, "/start")

    [text] = telegram.texts_to(ALICE_CHAT)
    assert "ComputeHub bot" in text and "/prices" in text and "/alert" in text
    assert "/settings/notifications" in text
    chat = await chat_row(sessions, ALICE_CHAT)
    assert chat.active and chat.user_id is None


async def test_prices_answers_the_cheapest_offers_and_unknown_gpus_clearly(sessions, client, telegram):
    await seed(sessions, [make_offer("lambdalabs", "H100 SXM", "2.99"),
                          make_offer("hyperstack", "H100 SXM", "16.00", count=8, region="CANADA-1"),
                          make_offer("lambdalabs", "A100 SXM", "1.29", memory=40)], at=utcnow())

    await send(client, ALICE_CHAT, "/prices H100", update_id=1)
    await send(client, ALICE_CHAT, "/prices unobtainium 9000", update_id=2)
    await send(client, ALICE_CHAT, "/prices", update_id=3)

    prices, unknown, usage = telegram.texts_to(ALICE_CHAT)
    lines = prices.splitlines()
    assert "Cheapest H100 offers" in lines[0]
    assert lines[1].startswith("1. <b>$2.00</b>") and "Hyperstack" in lines[1] and "×8" in lines[1]
    assert lines[2].startswith("2. <b>$2.99</b>") and "Lambda" in lines[2]
    assert "A100" not in prices
    assert "No GPU called 'unobtainium 9000'" in unknown
    assert "Usage" in usage and "/prices" in usage


async def test_alerts_from_a_chat_without_an_account(sessions, client, telegram):
    await send(client, ALICE_CHAT, "/alert H100 2.50", update_id=1)
    await send(client, ALICE_CHAT, "/alerts", update_id=2)
    await send(client, ALICE_CHAT, "/alert A100 1.00", update_id=3)  # over the Basic allowance of one
    await send(client, ALICE_CHAT, "/alert H100 cheap", update_id=4)
    await send(client, ALICE_CHAT, "/alert", update_id=5)

    created, listed, over_limit, bad_price, usage = telegram.texts_to(ALICE_CHAT)
    async with sessions() as session:
        [alert] = (await session.execute(select(PriceAlert))).scalars().all()
    assert (alert.chat_id, alert.user_id, alert.gpu, alert.max_price, alert.spot) == (
        ALICE_CHAT, None, "h100", alert.max_price, None)
    assert str(alert.max_price) == "2.500000"
    assert f"Alert #{alert.id} set" in created and "H100 at most $2.50/GPU-h" in created
    assert f"#{alert.id} H100 at most $2.50/GPU-h" in listed
    assert "can keep 1 alert" in over_limit
    assert "highest price in dollars" in bad_price and "Usage" in bad_price
    assert "Usage" in usage

    await send(client, ALICE_CHAT, f"/unalert {alert.id}", update_id=6)
    await send(client, ALICE_CHAT, "/alerts", update_id=7)
    removed, empty = telegram.texts_to(ALICE_CHAT)[5:]
    assert f"Alert #{alert.id} removed" in removed and "no price alerts" in empty


async def test_a_linked_chat_makes_alerts_for_the_account_within_its_plan(sessions, client, telegram):
    basic = await make_user(sessions, "basic@example.com", "basic")
    async with sessions() as session, session.begin():
        token = await linking.create_link_token(session, basic)  # linked while it was Pro, say
    await send(client, ALICE_CHAT, f"/start {token}", update_id=1)

    await send(client, ALICE_CHAT, "/alert RTX 4090 0.40 spot", update_id=2)
    await send(client, ALICE_CHAT, "/alert H100 2", update_id=3)

    _, created, refused = telegram.texts_to(ALICE_CHAT)
    async with sessions() as session:
        [alert] = (await session.execute(select(PriceAlert))).scalars().all()
    assert (alert.user_id, alert.chat_id, alert.gpu, alert.spot) == (basic, None, "rtx-4090", True)
    assert "RTX 4090 at most $0.40/GPU-h" in created and "spot" in created
    assert "allows 1 price alert" in refused and "/settings/subscription" in refused


async def test_stop_silences_the_chat_until_start(sessions, client, telegram):
    alice = await make_user(sessions, "alice@example.com", "pro")
    await send(client, ALICE_CHAT, f"/start {await new_token(sessions, alice)}", update_id=1)

    await send(client, ALICE_CHAT, "/stop", update_id=2)

    assert (await chat_row(sessions, ALICE_CHAT)).active is False
    assert "send nothing more" in telegram.texts_to(ALICE_CHAT)[-1]
    async with sessions() as session, session.begin():
        await notify(session, alice, "failure", "Failure", "gpu-1 failed")
    assert [m.channel for m in await outbox(sessions)] == ["email"]

    await send(client, ALICE_CHAT, "/start", update_id=3)
    assert (await chat_row(sessions, ALICE_CHAT)).active is True


async def test_unknown_commands_get_the_list_of_commands(sessions, client, telegram):
    await send(client, ALICE_CHAT, "/frobnicate")
    assert "don't know that command" in telegram.texts_to(ALICE_CHAT)[0]


async def test_the_webhook_is_not_there_when_telegram_is_off(sessions, engine, settings, telegram):
    import dataclasses

    from app.server import create_app
    from app.settings import TelegramSettings

    off = dataclasses.replace(settings, telegram=TelegramSettings(bot_token="", webhook_secret=WEBHOOK_SECRET))
    async with AsyncTestClient(app=create_app(off, engine=engine, run_worker=False)) as client:
        response = await send(client, ALICE_CHAT, "/start")
    assert response.status_code == 404
    assert telegram.router.calls.call_count == 0


def _nested(depth: int) -> str:
    return '{"update_id": 7, "message": ' + '{"a": [' * depth + "1" + "]}" * depth + "}"


@pytest.mark.parametrize("body", [
    _nested(50_000),  # json.loads alone raises RecursionError at this depth
    "[" * 100_000 + "]" * 100_000,
    '{"update_id": 7, "message": {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"}, '
    '"text": "\\u0000"}}',  # NUL: no PostgreSQL text column can hold it
    '{"update_id": "seven"}',
    '{"update_id": 7, "message": "hello"}',
    '{"update_id": 7, "message": {"message_id": 1, "date": 1, "chat": {"id": "x", "type": "private"}}}',
    '{"update_id": 7, "message": {"message_id": 1, "date": 1, "chat": {"id": 1e999, "type": "private"}}}',
    '{"update_id": 7, "message": {"message_id": 1, "date": 1, '
    '"chat": {"id": 123456789012345678901234567890, "type": "private"}}}',
    '{"update_id": 7, "message": {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"}, "text": 5}}',
    '{"update_id": NaN}',
    "not json",
])
async def test_a_deep_huge_or_malformed_update_is_a_400_and_nothing_happens(sessions, client, telegram, body):
    response = await client.post("/webhooks/telegram", content=body.encode(),
                                 headers={SECRET_HEADER: WEBHOOK_SECRET, "content-type": "application/json"})

    assert response.status_code == 400, response.text[:300]
    assert telegram.router.calls.call_count == 0
    async with sessions() as session:
        assert (await session.execute(select(TelegramChat))).first() is None


async def test_a_deep_update_sent_as_text_is_refused_too(sessions, client, telegram):
    # The webhook reads the body itself whatever its Content-Type: it bounds the depth itself.
    response = await client.post("/webhooks/telegram", content=_nested(50_000).encode(),
                                 headers={SECRET_HEADER: WEBHOOK_SECRET, "content-type": "text/plain"})

    assert response.status_code == 400
    assert "nested too deeply" in response.text
