"""Deployment notifications: what the console, the sync job and the sandbox's faults make the
outbox hold, what arrives over real SMTP (aiosmtpd), bursts as one message, and the Telegram
switches when Telegram is or is not configured.

The sandbox cloud runs in-process under a manual clock; the subscriber is the one the app
installs (its lifespan) or, for service-level tests, ``install`` as the worker calls it.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from app.console.errors import ConsoleError
from app.console.instances import LaunchSpec, launch, perform
from app.console.signals import disconnect, receivers
from app.console.sync import sync_binding
from app.db.models import Instance, NotificationPreference, OutboxMessage, TelegramChat
from app.db.types import utcnow
from app.notifications.deployments import COALESCE_WINDOW, install
from app.notifications.dispatch import deliver_due
from app.notifications.events import EVENT_TYPES
from app.notifications.outbox import set_preference
from app.settings import (
    MailSettings, PollingSettings, SandboxSettings, SecuritySettings, Settings, TelegramSettings, WebSettings,
)
from app.security.keyring import generate_key_spec
from tests.console.conftest import clock, cloud, http, keyring, make_account  # noqa: F401 - fixtures
from tests.notifications.conftest import BASE_URL, BOT_TOKEN, BOT_USERNAME, outbox, telegram  # noqa: F401
from tests.notifications.test_email import email_sender, smtp  # noqa: F401 - the aiosmtpd fixture
from tests.web.html import parse_html

PAGE = "/settings/notifications"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        polling=PollingSettings(enabled=False, load_snapshot=False),
        security=SecuritySettings(master_keys=generate_key_spec("notify2"), var_dir=tmp_path / "var",
                                  secure_cookies=False),
        sandbox=SandboxSettings(enabled=True, demo_account=False),
        web=WebSettings(base_url=BASE_URL),
        mail=MailSettings(backend="outbox", outbox_dir=tmp_path / "outbox"),
        telegram=TelegramSettings(bot_token=BOT_TOKEN, bot_username=BOT_USERNAME, mode="webhook"),
    )


@pytest.fixture
def no_telegram(settings) -> Settings:
    return replace(settings, telegram=TelegramSettings(bot_token="", bot_username=BOT_USERNAME))


@pytest.fixture
def subscribed(settings):
    """What the worker does at start: state changes queue notifications."""
    subscription = install(settings)
    yield
    disconnect(subscription)


@pytest.fixture
async def pro(sessions, keyring, cloud):  # noqa: F811
    return await make_account(sessions, keyring, "pro@example.com", plan="pro")


def spec(account, name: str = "gpu-1", spot: bool = False, instance_type: str = "sbx.rtx4090.1x") -> LaunchSpec:
    return LaunchSpec(binding_id=account.binding_id, name=name, instance_type=instance_type,
                      region="sandbox-eu-1", spot=spot)


async def switch_on(sessions, user_id: int, *prefs: str) -> None:
    async with sessions() as session, session.begin():
        for pref in prefs:
            event_type, channel = pref.split(":")
            await set_preference(session, user_id, event_type, channel, True)


async def running(sessions, keyring, http, clock, account, **kw) -> Instance:  # noqa: F811
    row = await launch(sessions, keyring, http, account.user_id, spec(account, **kw))
    clock.advance(21)
    await sync_binding(sessions, keyring, http, account.binding_id)
    async with sessions() as session:
        return await session.get(Instance, row.id)


def payload_items(message) -> list[dict]:
    data = json.loads(message.payload)
    return [p["context"] for p in (data if isinstance(data, list) else [data])]


# ---- what is queued ---------------------------------------------------------------------------

async def test_a_stop_the_user_asks_for_queues_deployment_state_with_old_and_new_state(
        sessions, keyring, http, clock, pro, login):  # noqa: F811
    row = await running(sessions, keyring, http, clock, pro)  # before the app runs: nobody listens yet
    await switch_on(sessions, pro.user_id, "deployment_state:email")
    browser = await login(pro.email)

    response = await browser.post(f"/console/instances/{row.id}/actions/stop", {"confirm": "yes"})

    assert response.status_code == 200 and response.url.query == b"done=stop"
    [message] = await outbox(sessions, event_type="deployment_state")
    assert (message.channel, message.destination, message.status) == ("email", pro.email, "pending")
    assert message.subject == "gpu-1 is now stopping"
    assert "changed from running to stopping" in message.body_text
    assert payload_items(message) == [{
        "instance_name": "gpu-1", "provider_name": "Sandbox (simulated)", "old_status": "running",
        "new_status": "stopping", "instance_url": f"{BASE_URL}/console/instances/{row.id}"}]
    # Held for the burst window, then due.
    assert COALESCE_WINDOW - timedelta(seconds=5) <= message.next_attempt_at - message.created_at <= COALESCE_WINDOW


async def test_changes_the_sync_sees_queue_deployment_state_switched_on_and_nothing_when_off(
        sessions, keyring, http, clock, pro, subscribed):  # noqa: F811
    await running(sessions, keyring, http, clock, pro, name="quiet")  # deployment_state is off by default
    assert await outbox(sessions) == []
    await switch_on(sessions, pro.user_id, "deployment_state:email")
    await running(sessions, keyring, http, clock, pro, name="told")
    states = [(i["instance_name"], i["old_status"], i["new_status"])
              for m in await outbox(sessions, event_type="deployment_state") for i in payload_items(m)]
    assert states == [("told", "launching", "provisioning"), ("told", "provisioning", "running")]


async def test_a_sync_that_sees_a_spot_instance_preempted_queues_a_failure(
        sessions, keyring, http, clock, cloud, pro, subscribed, smtp):  # noqa: F811
    row = await running(sessions, keyring, http, clock, pro, spot=True)
    assert row.status == "running"
    cloud.set_faults(pro.api_key, preempt_spot_after_seconds=120)
    clock.advance(121)

    report = await sync_binding(sessions, keyring, http, pro.binding_id)

    assert report.updated == 1
    async with sessions() as session:
        assert (await session.get(Instance, row.id)).status == "terminated"
    [message] = await outbox(sessions, event_type="failure")
    assert message.subject == "Preempted: gpu-1 on Sandbox (simulated)"
    assert "Preempted: the provider took this spot instance back (reported as preempted)" in message.body_text
    assert payload_items(message)[0]["kind"] == "preemption"

    await deliver_due(sessions, email_sender(smtp.port), now=utcnow() + COALESCE_WINDOW)
    [mail] = smtp.inbox.messages
    assert mail["To"] == pro.email and mail["Subject"] == "Preempted: gpu-1 on Sandbox (simulated)"


async def test_an_on_demand_instance_is_never_preempted(
        sessions, keyring, http, clock, cloud, pro, subscribed):  # noqa: F811
    await running(sessions, keyring, http, clock, pro, spot=False)
    cloud.set_faults(pro.api_key, preempt_spot_after_seconds=120)
    clock.advance(600)
    await sync_binding(sessions, keyring, http, pro.binding_id)
    assert await outbox(sessions, event_type="failure") == []


async def test_a_failed_launch_queues_a_failure(sessions, keyring, http, cloud, pro, subscribed):  # noqa: F811
    cloud.set_faults(pro.api_key, no_capacity_types=["sbx.h100.1x"])

    with pytest.raises(ConsoleError, match="no capacity"):
        await launch(sessions, keyring, http, pro.user_id, spec(pro, instance_type="sbx.h100.1x"))

    [message] = await outbox(sessions, event_type="failure")
    assert message.subject == "Launch failed: gpu-1 on Sandbox (simulated)"
    assert "The launch failed: the provider has no capacity for this offer" in message.body_text
    assert payload_items(message)[0]["kind"] == "launch_failed"


async def test_a_boot_the_provider_reports_as_error_queues_a_failure(
        sessions, keyring, http, clock, cloud, pro, subscribed):  # noqa: F811
    cloud.set_faults(pro.api_key, fail_boot=True)
    row = await running(sessions, keyring, http, clock, pro)
    assert row.status == "failed"
    [message] = await outbox(sessions, event_type="failure")
    assert message.subject == "Failure: gpu-1 on Sandbox (simulated)"
    assert "The provider reports a failure: the provider reports it as error" in message.body_text


async def test_a_launch_that_never_reached_the_provider_is_a_failed_launch(
        sessions, keyring, http, cloud, pro, subscribed):  # noqa: F811
    async def crash(remote):  # the worker dies before the provider hears of it: simulate with a vanished instance
        cloud.delete_instance(pro.api_key, remote.instance_id)
        raise RuntimeError("worker died")

    with pytest.raises(RuntimeError):
        await launch(sessions, keyring, http, pro.user_id, spec(pro), after_provider_accepted=crash)
    async with sessions() as session, session.begin():  # no adoptable instance, and the grace is over
        row = (await session.execute(select(Instance))).scalar_one()
        row.created_at = utcnow() - timedelta(minutes=11)
    cloud.clock.advance(3600)  # the deleted instance is gone for good
    await sync_binding(sessions, keyring, http, pro.binding_id)
    [message] = await outbox(sessions, event_type="failure")
    assert "The launch failed: the launch never reached the provider" in message.body_text


async def test_basic_accounts_get_no_deployment_notifications(
        sessions, keyring, http, clock, cloud, subscribed):  # noqa: F811
    basic = await make_account(sessions, keyring, "basic@example.com")
    cloud.set_faults(basic.api_key, fail_boot=True)
    await running(sessions, keyring, http, clock, basic)
    assert await outbox(sessions) == []


# ---- bursts and delivery -------------------------------------------------------------------------

async def test_a_burst_of_five_changes_is_one_message_and_delivering_twice_sends_it_once(
        sessions, keyring, http, clock, pro, subscribed, smtp):  # noqa: F811
    await switch_on(sessions, pro.user_id, "deployment_state:email")
    for n in range(5):  # five launches: launching -> provisioning each, within the window
        await launch(sessions, keyring, http, pro.user_id, spec(pro, name=f"gpu-{n}"))
    queued = await outbox(sessions, event_type="deployment_state")
    assert len(queued) == 5 and {m.coalesce_key for m in queued} == {queued[0].coalesce_key}

    sender = email_sender(smtp.port)
    assert (await deliver_due(sessions, sender)).sent == 0  # still inside the window: held
    later = utcnow() + COALESCE_WINDOW + timedelta(seconds=1)
    assert (await deliver_due(sessions, sender, now=later)).sent == 1
    assert (await deliver_due(sessions, sender, now=later + timedelta(minutes=1))).sent == 0

    [mail] = smtp.inbox.messages
    assert mail["Subject"] == "5 changes to your deployments"
    text = mail.get_body(("plain",)).get_content()
    for n in range(5):
        assert f"- gpu-{n} on Sandbox (simulated): launching -> provisioning" in text
    html = mail.get_body(("html",)).get_content()
    assert html.count("launching &rarr; <strong>provisioning</strong>") == 5
    statuses = sorted(m.status for m in await outbox(sessions, event_type="deployment_state"))
    assert statuses == ["merged"] * 4 + ["sent"]


async def test_a_change_after_the_burst_was_sent_starts_the_next_one(
        sessions, keyring, http, clock, pro, subscribed, smtp):  # noqa: F811
    await switch_on(sessions, pro.user_id, "deployment_state:email")
    sender = email_sender(smtp.port)
    row = await launch(sessions, keyring, http, pro.user_id, spec(pro))
    await deliver_due(sessions, sender, now=utcnow() + COALESCE_WINDOW)
    clock.advance(21)
    await sync_binding(sessions, keyring, http, pro.binding_id)
    await deliver_due(sessions, sender, now=utcnow() + COALESCE_WINDOW)
    assert [m["Subject"] for m in smtp.inbox.messages] == [f"{row.name} is now provisioning", "gpu-1 is now running"]


async def test_the_same_change_seen_twice_is_queued_once(sessions, settings, pro):
    from app.console.signals import StateChange
    from app.notifications.deployments import notify_change

    change = StateChange(instance_id=1, user_id=pro.user_id, instance_name="gpu-1", provider="sandbox",
                         old_status="running", new_status="failed", at=utcnow(), source="sync",
                         failure="provider_failure", error="the provider reports it as crashed")
    for _ in range(2):  # e.g. a retried transaction, or two workers
        async with sessions() as session, session.begin():
            await notify_change(session, change, base_url=BASE_URL, telegram_enabled=False)
    assert [m.event_type for m in await outbox(sessions)] == ["failure"]


# ---- Telegram switches ---------------------------------------------------------------------------

def telegram_switches(doc) -> dict[str, dict]:
    return {n.get("data-pref"): n.attrs for n in doc.find_all("input", type="checkbox", name="pref")
            if n.get("data-pref", "").endswith(":telegram")}


async def stored(sessions, user_id: int) -> dict[tuple[str, str], bool]:
    async with sessions() as session:
        rows = await session.execute(select(NotificationPreference).where(NotificationPreference.user_id == user_id))
        return {(r.event_type, r.channel): r.enabled for r in rows.scalars()}


async def test_telegram_switches_are_disabled_and_not_saved_without_a_bot_token(
        engine, sessions, no_telegram, keyring, pro):  # noqa: F811
    from app.server import create_app
    from tests.console.conftest import logged_in

    app = create_app(no_telegram, engine=engine, run_worker=False)
    browser, client = await logged_in(app, pro.email)
    try:
        doc = await browser.page(PAGE)
        switches = telegram_switches(doc)
        assert len(switches) == len(EVENT_TYPES) and all("disabled" in a and "checked" not in a for a in switches.values())
        assert "Telegram is not set up on this server" in doc.one("p", data_telegram_switches="off").text

        response = await browser.post(f"{PAGE}/preferences", [("pref", "failure:email"),
                                                              ("pref", "deployment_state:telegram")])
        assert response.status_code == 200
    finally:
        await client.__aexit__(None, None, None)
    assert receivers() == []  # the app's lifespan subscribed, and unsubscribed at shutdown
    prefs = await stored(sessions, pro.user_id)
    assert ("deployment_state", "telegram") not in prefs and ("failure", "telegram") not in prefs
    assert prefs[("failure", "email")] is True and prefs[("deployment_state", "email")] is False


async def test_telegram_switches_work_once_telegram_is_configured(
        engine, sessions, settings, no_telegram, keyring, http, clock, cloud, pro):  # noqa: F811
    from app.server import create_app
    from tests.console.conftest import logged_in

    async with sessions() as session, session.begin():
        session.add(TelegramChat(chat_id=4242, user_id=pro.user_id, username="pro_tg", active=True,
                                 created_at=utcnow(), linked_at=utcnow()))
    app = create_app(settings, engine=engine, run_worker=False)
    browser, client = await logged_in(app, pro.email)
    try:
        switches = telegram_switches(await browser.page(PAGE))
        assert all("disabled" not in a for a in switches.values())
        assert "checked" in switches["failure:telegram"]  # on by default
        await browser.post(f"{PAGE}/preferences", [("pref", "failure:email"), ("pref", "deployment_state:telegram")])
    finally:
        await client.__aexit__(None, None, None)
    prefs = await stored(sessions, pro.user_id)
    assert prefs[("deployment_state", "telegram")] is True and prefs[("failure", "telegram")] is False

    # The switches decide: a failure by e-mail only, a state change on Telegram only.
    for config, expected in ((settings, {("failure", "email"), ("deployment_state", "telegram")}),
                             (no_telegram, {("failure", "email")})):
        subscription = install(config)
        try:
            cloud.set_faults(pro.api_key, fail_boot=True)
            await launch(sessions, keyring, http, pro.user_id, spec(pro, name=f"tg-{len(expected)}"))
            clock.advance(21)
            await sync_binding(sessions, keyring, http, pro.binding_id)
        finally:
            disconnect(subscription)
        messages = await outbox(sessions)
        assert {(m.event_type, m.channel) for m in messages} == expected
        assert all(m.destination == "4242" for m in messages if m.channel == "telegram")
        async with sessions() as session, session.begin():
            await session.execute(delete(OutboxMessage))


async def test_two_workers_delivering_at_once_send_a_burst_once(
        sessions, keyring, http, clock, pro, subscribed, smtp):  # noqa: F811
    await switch_on(sessions, pro.user_id, "deployment_state:email")
    for n in range(3):
        await launch(sessions, keyring, http, pro.user_id, spec(pro, name=f"gpu-{n}"))
    later = utcnow() + COALESCE_WINDOW + timedelta(seconds=1)

    reports = await asyncio.gather(*(deliver_due(sessions, email_sender(smtp.port), now=later) for _ in range(2)))

    assert sorted(r.sent for r in reports) == [0, 1]
    [mail] = smtp.inbox.messages
    assert mail["Subject"] == "3 changes to your deployments"


async def test_a_burst_on_telegram_is_one_message_listing_the_changes(
        sessions, settings, keyring, http, clock, pro, subscribed, telegram):  # noqa: F811
    from app.notifications.senders import TelegramSender, make_bot

    async with sessions() as session, session.begin():
        session.add(TelegramChat(chat_id=4242, user_id=pro.user_id, username="pro_tg", active=True,
                                 created_at=utcnow(), linked_at=utcnow()))
    await switch_on(sessions, pro.user_id, "deployment_state:telegram")
    for n in range(3):
        await launch(sessions, keyring, http, pro.user_id, spec(pro, name=f"gpu-{n}"))

    senders = {"telegram": TelegramSender(make_bot(settings))}
    report = await deliver_due(sessions, senders, now=utcnow() + COALESCE_WINDOW + timedelta(seconds=1))

    assert report.sent == 1
    [text] = telegram.texts_to(4242)
    lines = text.splitlines()
    assert lines[0] == "<b>3 changes to your deployments</b>"
    assert lines[1].startswith(f'• <a href="{BASE_URL}/console/instances/')
    change = " on Sandbox (simulated): launching → <b>provisioning</b>"
    assert [line.split("</a>")[1] for line in lines[1:]] == [change] * 3
    assert [line.split(">")[1].split("<")[0] for line in lines[1:]] == ["gpu-0", "gpu-1", "gpu-2"]
