"""Price alerts through the real poller: each poll ingests scripted offers, then the alerts are
checked. One message per crossing under the threshold; nothing while the price stays under."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.db.models import PriceAlert, TelegramChat
from app.notifications import alerts
from app.services.polling import poll_source
from providers.http import new_client
from tests.notifications.conftest import make_user, outbox
from tests.services.conftest import fake_registry  # noqa: F401 - the scripted sources
from tests.support.factories import make_offer, seed

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
CHAT = 8880001


def h100(price: str, source: str = "fake-alpha", **kw):
    return make_offer(source, "H100 SXM", price, **kw)


async def poll(fake_registry, settings, sessions, step: int, offers, source: str = "fake-alpha"):  # noqa: F811
    fake_registry.SCRIPTS[source].append(offers)
    async with new_client(timeout=5) as http:
        outcome = await poll_source(source, settings, sessions, http, now=T0 + timedelta(minutes=15 * step))
    assert outcome.status == "ok", outcome.error


async def add_alert(sessions, **kw) -> int:
    async with sessions() as session, session.begin():
        row = await alerts.create_alert(session, now=T0, **kw)
        return row.id


async def test_one_message_per_crossing_down(sessions, settings, fake_registry):  # noqa: F811
    user_id = await make_user(sessions, "alice@example.com", "pro")
    await add_alert(sessions, user_id=user_id, gpu="h100", max_price=Decimal("2.00"))
    prices = ["2.40", "1.95", "1.80", "1.99", "2.10", "2.30", "1.90", "1.70"]
    sent_after_each = []
    for step, price in enumerate(prices):
        await poll(fake_registry, settings, sessions, step, [h100(price), h100("3.10", region="eu-1")])
        sent_after_each.append(len(await outbox(sessions, event_type="price_alert")))

    # Down through $2.00 at step 1 (one message), under for 2 more polls, above at 4-5, down again at 6.
    assert sent_after_each == [0, 1, 1, 1, 1, 1, 2, 2]
    first, second = await outbox(sessions, event_type="price_alert")
    assert (first.channel, first.destination) == ("email", "alice@example.com")
    assert first.subject == "H100 SXM 80GB at $1.95/GPU-h (your alert: $2.00)"
    assert "Alpha Cloud (us-east-1, on-demand)" in first.body_text
    assert second.subject.startswith("H100 SXM 80GB at $1.90/GPU-h")
    async with sessions() as session:
        alert = (await session.execute(select(PriceAlert))).scalar_one()
    assert (alert.below, alert.last_price, alert.last_crossed_at) == (True, Decimal("1.700000"), T0 + timedelta(minutes=90))


async def test_filters_providers_market_and_a_bare_chat(sessions, settings, fake_registry):  # noqa: F811
    async with sessions() as session, session.begin():
        session.add(TelegramChat(chat_id=CHAT, user_id=None, active=True, created_at=T0))
    await add_alert(sessions, chat_id=CHAT, gpu="h100-sxm", max_price=Decimal("2.00"), providers="fake-beta",
                    spot=False)

    # Cheap on the other provider, and cheap spot on the watched one: neither is this alert's.
    await poll(fake_registry, settings, sessions, 0, [h100("1.50")], source="fake-alpha")
    await poll(fake_registry, settings, sessions, 1, [h100("1.40", "fake-beta", spot=True), h100("2.50", "fake-beta")],
               source="fake-beta")
    assert await outbox(sessions) == []

    await poll(fake_registry, settings, sessions, 2, [h100("1.40", "fake-beta", spot=True), h100("1.99", "fake-beta")],
               source="fake-beta")
    [message] = await outbox(sessions)
    assert (message.channel, message.destination, message.user_id) == ("telegram", str(CHAT), None)
    assert "<b>H100 SXM 80GB</b> at <b>$1.99</b>/GPU-h on Beta Cloud" in message.body_text


async def test_snapshot_prices_never_fire_an_alert(sessions, settings, fake_registry):  # noqa: F811
    user_id = await make_user(sessions, "alice@example.com", "basic")
    await add_alert(sessions, user_id=user_id, gpu="h100", max_price=Decimal("2.00"))
    await seed(sessions, [h100("1.00", "fake-beta")], at=T0, origin="snapshot")

    await poll(fake_registry, settings, sessions, 1, [h100("2.50")])

    assert await outbox(sessions) == []
    async with sessions() as session:
        assert (await session.execute(select(PriceAlert.last_price))).scalar_one() == Decimal("2.500000")


async def test_a_basic_account_gets_its_price_alert_by_email(sessions, settings, fake_registry):  # noqa: F811
    user_id = await make_user(sessions, "basic@example.com", "basic")
    await add_alert(sessions, user_id=user_id, gpu="h100", max_price=Decimal("2.00"))

    await poll(fake_registry, settings, sessions, 0, [h100("1.50")])

    [message] = await outbox(sessions)
    assert (message.channel, message.destination) == ("email", "basic@example.com")


@pytest.mark.parametrize("text, expected", [("2", "2.000000"), ("$1.95", "1.950000"), ("1,75", "1.750000"),
                                            ("0.4 /h", "0.400000")])
def test_prices_people_type(text, expected):
    assert str(alerts.parse_max_price(text)) == expected


@pytest.mark.parametrize("text", ["", "cheap", "0", "-1", "10001", "nan", "1e3", "2.0000001"])
def test_prices_that_are_refused(text):
    with pytest.raises(alerts.AlertError):
        alerts.parse_max_price(text)


async def test_an_alert_made_under_the_price_fires_after_the_next_rise_and_drop(sessions, settings, fake_registry):  # noqa: F811
    user_id = await make_user(sessions, "alice@example.com", "pro")
    await poll(fake_registry, settings, sessions, 0, [h100("1.50")])
    async with sessions() as session, session.begin():
        row = await alerts.create_alert(session, now=T0, user_id=user_id, gpu="h100", max_price=Decimal("2.00"))
        assert (row.below, row.last_price) == (True, Decimal("1.500000"))
        assert "already $1.50" in alerts.added_note(row)

    await poll(fake_registry, settings, sessions, 1, [h100("1.60")])
    assert await outbox(sessions, event_type="price_alert") == []  # what the person was just told
    await poll(fake_registry, settings, sessions, 2, [h100("2.40")])
    await poll(fake_registry, settings, sessions, 3, [h100("1.90")])
    assert len(await outbox(sessions, event_type="price_alert")) == 1
