"""POST /webhooks/telegram: updates from Telegram in webhook mode.

Telegram sends the secret given to setWebhook in the ``X-Telegram-Bot-Api-Secret-Token`` header;
it is compared in constant time and a missing or wrong one is refused (403) before anything is
read. The bot's Application is created on the first update (its initialize() asks Telegram who
the bot is), kept on the app's state, and shut down with the app.
"""

from __future__ import annotations

import asyncio
import hmac

from litestar import Litestar, Request, Response, post
from litestar.exceptions import NotFoundException, PermissionDeniedException, ValidationException
from telegram import Update
from telegram.ext import Application

from app.notifications.bot import build_application
from app.services.inputs import BadInput, load_json

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_STATE_KEY = "telegram_application"
_LOCK_KEY = "telegram_application_lock"


def _secret_ok(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


async def webhook_application(app: Litestar) -> Application:
    state = app.state
    if state.get(_LOCK_KEY) is None:
        state[_LOCK_KEY] = asyncio.Lock()
    async with state[_LOCK_KEY]:
        if state.get(_STATE_KEY) is None:
            application = build_application(state.settings, state.sessions, webhook=True)
            await application.initialize()
            state[_STATE_KEY] = application
    return state[_STATE_KEY]


async def close_webhook_application(app: Litestar) -> None:
    application = app.state.get(_STATE_KEY)
    if application is not None:
        app.state[_STATE_KEY] = None
        await application.shutdown()


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_update(data: object) -> bool:
    """The parts of an update the bot reads have Telegram's types (the bot only asks for messages)."""
    if not isinstance(data, dict) or not _int(data.get("update_id")):
        return False
    message = data.get("message")
    if message is None:
        return True
    if not isinstance(message, dict) or not _int(message.get("message_id")) or not _int(message.get("date")):
        return False
    chat, sender = message.get("chat"), message.get("from")
    if not isinstance(chat, dict) or not _int(chat.get("id")) or not isinstance(chat.get("type"), str):
        return False
    if sender is not None and not (isinstance(sender, dict) and _int(sender.get("id"))
                                   and isinstance(sender.get("first_name"), str)):
        return False
    text = message.get("text")
    return text is None or isinstance(text, str)


@post("/webhooks/telegram", permission="public", include_in_schema=False, status_code=200)
async def telegram_webhook(request: Request) -> Response:
    telegram = request.app.state.settings.telegram
    if not telegram.enabled:
        raise NotFoundException("Telegram is not configured on this server")
    if not _secret_ok(request.headers.get(SECRET_HEADER, ""), telegram.webhook_secret):
        raise PermissionDeniedException("missing or wrong secret token")
    try:
        data = load_json(await request.body())  # nesting bounded before parsing: no RecursionError
    except BadInput as exc:
        raise ValidationException(str(exc)) from None
    if not is_update(data):
        raise ValidationException("the body is not a Telegram update")
    application = await webhook_application(request.app)
    try:
        update = Update.de_json(data, application.bot)
    except (TypeError, ValueError, KeyError, AttributeError):  # fields of the wrong type
        raise ValidationException("the body is not a Telegram update") from None
    await application.process_update(update)
    return Response(content=b"", status_code=200)
