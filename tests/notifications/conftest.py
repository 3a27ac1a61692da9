"""Notification tests: the real app and services on each test database.

Telegram is the real python-telegram-bot talking to respx, which answers like the Bot API
(https://api.telegram.org/bot<TOKEN>/<method>, ``{"ok": true, "result": ...}``); e-mail goes to a
real SMTP server (aiosmtpd) on 127.0.0.1. Nothing leaves the machine.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from sqlalchemy import select

from app.auth import service as accounts
from app.costs.accrual import accrue_costs
from app.db.models import OutboxMessage, Subscription
from app.db.types import utcnow
from app.notifications.hard_limit import enforce_hard_limits
from app.security.keyring import generate_key_spec
from app.server import create_app
from app.settings import (
    MailSettings,
    PollingSettings,
    SandboxSettings,
    SecuritySettings,
    Settings,
    TelegramSettings,
    WebSettings,
)
from tests.auth.support import fast_password_hashing  # noqa: F401 - autouse: cheap argon2 in tests
from tests.console.conftest import PASSWORD, login  # noqa: F401 - the shared logged-in client fixture

BOT_TOKEN = "123456789:AAH-test-token-not-real"
BOT_ID = 123456789
BOT_USERNAME = "ComputeHubTestBot"
API = f"https://api.telegram.org/bot{BOT_TOKEN}"
WEBHOOK_SECRET = "s3cret-webhook-token_for-tests"
BASE_URL = "https://computehub.test"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        polling=PollingSettings(enabled=False, load_snapshot=False),
        # Links use the https BASE_URL; the test client speaks plain http, so cookies must not be Secure.
        security=SecuritySettings(master_keys=generate_key_spec("notify1"), var_dir=tmp_path / "var",
                                  secure_cookies=False),
        sandbox=SandboxSettings(enabled=False, demo_account=False),
        web=WebSettings(base_url=BASE_URL),
        mail=MailSettings(backend="outbox", outbox_dir=tmp_path / "outbox"),
        telegram=TelegramSettings(bot_token=BOT_TOKEN, bot_username=BOT_USERNAME, mode="webhook",
                                  webhook_secret=WEBHOOK_SECRET),
    )


@pytest.fixture
def app(engine, sessions, settings):
    return create_app(settings, engine=engine, run_worker=False)


async def make_user(sessions, email: str, plan: str = "basic", time_zone: str = "UTC") -> int:
    """A user on ``plan`` (a paid plan is an active subscription row, as billing writes it)."""
    async with sessions() as session, session.begin():
        user = await accounts.signup(session, email, email.split("@")[0], PASSWORD)
        user.timezone = time_zone
        if plan != "basic":
            now = utcnow()
            session.add(Subscription(user_id=user.id, plan_code=plan, status="active",
                                     current_period_end=now + timedelta(days=30), cancel_at_period_end=False,
                                     trial_used=True, updated_at=now))
        return user.id



async def outbox(sessions, **where) -> list[OutboxMessage]:
    async with sessions() as session:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        for column, value in where.items():
            stmt = stmt.where(getattr(OutboxMessage, column) == value)
        return list((await session.execute(stmt)).scalars())


# ---- the Telegram Bot API, as respx answers it -------------------------------------------------

def bot_user() -> dict:
    return {"id": BOT_ID, "is_bot": True, "first_name": "ComputeHub", "username": BOT_USERNAME,
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}


def form(request: httpx.Request) -> dict[str, str]:
    """python-telegram-bot posts its parameters form-encoded (one value each)."""
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


class TelegramApi:
    """What the bot sent (every sendMessage body, in order), and failures to answer with."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.router = router
        self._ids = itertools.count(1000)
        self.failures: list[httpx.Response] = []
        self.always_fail: httpx.Response | None = None

    def sent(self) -> list[dict[str, str]]:
        return [form(call.request) for call in self.router.routes["sendMessage"].calls]

    def texts_to(self, chat_id: int) -> list[str]:
        return [m["text"] for m in self.sent() if m["chat_id"] == str(chat_id)]

    def answer_message(self, request: httpx.Request) -> httpx.Response:
        if self.always_fail is not None:
            return self.always_fail
        if self.failures:
            return self.failures.pop(0)
        body = form(request)
        return httpx.Response(200, json={"ok": True, "result": {
            "message_id": next(self._ids), "date": int(utcnow().timestamp()),
            "chat": {"id": int(body["chat_id"]), "type": "private"}, "text": body["text"],
            "from": bot_user()}})

    @staticmethod
    def error(status: int, description: str, **parameters) -> httpx.Response:
        payload = {"ok": False, "error_code": status, "description": description}
        if parameters:
            payload["parameters"] = parameters
        return httpx.Response(status, json=payload)

    def fail_next_send(self, status: int, description: str, **parameters) -> None:
        self.failures.append(self.error(status, description, **parameters))


@pytest.fixture
def telegram() -> Iterator[TelegramApi]:
    with respx.mock(base_url=API, assert_all_called=False, assert_all_mocked=True) as router:
        api = TelegramApi(router)
        router.post("/getMe", name="getMe").respond(json={"ok": True, "result": bot_user()})
        router.post("/sendMessage", name="sendMessage").mock(side_effect=api.answer_message)
        yield api


def telegram_update(chat_id: int, text: str, *, update_id: int = 1, username: str | None = "alice_tg") -> dict:
    """A private-chat message update, as Telegram POSTs it to the webhook."""
    command = text.split()[0] if text.startswith("/") else None
    sender = {"id": chat_id, "is_bot": False, "first_name": "Alice"}
    chat = {"id": chat_id, "type": "private", "first_name": "Alice"}
    if username:
        sender["username"] = chat["username"] = username
    message = {"message_id": update_id, "date": int(utcnow().timestamp()), "chat": chat, "from": sender, "text": text}
    if command:
        message["entities"] = [{"offset": 0, "length": len(command), "type": "bot_command"}]
    return {"update_id": update_id, "message": message}


@pytest.fixture
def enforce(sessions, keyring, http):
    """``await enforce(at)``: costs accrued up to ``at``, then the hard limits enforced at ``at``."""
    async def run(at):
        await accrue_costs(sessions, now=at)
        return await enforce_hard_limits(sessions, keyring, http, base_url=BASE_URL, telegram_enabled=False, now=at)
    return run
