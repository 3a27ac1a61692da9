"""The Telegram bot: link a chat to an account, look up prices, keep price alerts, stop messages.

``BotCommands`` is what the bot does, one method per command, each taking the chat and the
command's words and returning the reply (Telegram HTML). Each method reads and writes the
database in its own transaction and returns only after it committed; python-telegram-bot's
handlers then send the reply. So no network call ever happens inside a transaction.

The same ``Application`` serves both ways of receiving updates: long polling for local runs
(``computehub bot``), and the webhook (POST /webhooks/telegram) in production.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from html import escape as _escape

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import BotCommand, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from app.billing.entitlements import QuotaExhausted
from app.db.models import TelegramChat
from app.notifications import alerts, linking
from app.services.prices import PriceQuery, list_offers
from app.settings import Settings
from app.web.formatting import gpu_count, money, offer_age_label
from providers.registry import SOURCES

log = logging.getLogger(__name__)
PRICE_LINES = 5
Command = Callable[[int, str | None, list[str]], Awaitable[str]]

COMMANDS = (
    ("prices", "Cheapest offers for a GPU: /prices H100"),
    ("alert", "Alert me under a price: /alert H100 2.00"),
    ("alerts", "List my price alerts"),
    ("unalert", "Remove an alert: /unalert 3"),
    ("stop", "Send me nothing more"),
    ("start", "Start (or resume) the bot"),
)
USAGE = {
    "prices": "Usage: <code>/prices &lt;GPU&gt;</code>, e.g. <code>/prices H100</code> or <code>/prices A100 80GB</code>",
    "alert": ("Usage: <code>/alert &lt;GPU&gt; &lt;max $/GPU-hour&gt; [spot|on-demand]</code>, "
              "e.g. <code>/alert H100 2.00</code>"),
    "unalert": "Usage: <code>/unalert &lt;alert number&gt;</code> (see /alerts)",
}


class BotCommands:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings
        self.base_url = settings.web.base_url.rstrip("/")

    def help_text(self) -> str:
        lines = [f"/{name} – {escape(text)}" for name, text in COMMANDS if name != "start"]
        return "\n".join(lines)

    async def start(self, chat_id: int, username: str | None, args: list[str]) -> str:
        if args:
            async with self.sessions() as session, session.begin():
                user_id = await linking.redeem_link_token(session, args[0], chat_id, username)
            if user_id is None:
                return ("This link has expired or was already used. Create a new one on "
                        f"{self.base_url}{linking_page()} and open it within {_minutes(linking.LINK_TTL)} minutes.")
            return ("✅ This chat is now linked to your ComputeHub account. You will get the notifications you "
                    f"switched on at {self.base_url}{linking_page()}.\n\n{self.help_text()}")
        async with self.sessions() as session, session.begin():
            await linking.register_chat(session, chat_id, username)
        return ("👋 Hi! I am the ComputeHub bot: I track GPU cloud prices across providers.\n\n"
                f"{self.help_text()}\n\nTo get your deployment and cost notifications here, link this chat "
                f"from {self.base_url}{linking_page()}.")

    async def prices(self, chat_id: int, username: str | None, args: list[str]) -> str:
        text = " ".join(args).strip()
        if not text:
            return USAGE["prices"]
        try:
            slug = alerts.resolve_gpu(text)
        except alerts.AlertError as exc:
            return sentence(str(exc))
        async with self.sessions() as session:
            page = await list_offers(session, PriceQuery(gpu=slug, providers=tuple(sorted(SOURCES)),
                                                         available_only=True, per_page=PRICE_LINES))
        label = alerts.gpu_label(slug)
        if not page.items:
            return f"No current offers for <b>{escape(label)}</b>. Prices: {self.base_url}/gpus/{slug}"
        lines = [f"<b>Cheapest {escape(label)} offers</b> ($ per GPU-hour)"]
        for i, offer in enumerate(page.items, 1):
            market = "spot" if offer.spot else "on-demand"
            lines.append(f"{i}. <b>{money(offer.price_per_gpu_hour)}</b> · {escape(offer.gpu_name)} ×"
                         f"{gpu_count(offer.gpu_count)} · {escape(offer.provider_name)} · {escape(offer.region)} · "
                         f"{market} · {escape(offer_age_label(offer))}")
        lines.append(f'<a href="{self.base_url}/gpus/{slug}">All {escape(label)} offers</a>')
        return "\n".join(lines)

    async def _owner(self, session: AsyncSession, chat_id: int) -> dict:
        """Alerts of a linked chat belong to its account; otherwise to the chat itself."""
        chat = await session.get(TelegramChat, chat_id)
        return {"user_id": chat.user_id} if chat is not None and chat.user_id else {"chat_id": chat_id}

    async def list_alerts(self, chat_id: int, username: str | None, args: list[str]) -> str:
        async with self.sessions() as session:
            rows = await alerts.list_alerts(session, **await self._owner(session, chat_id))
        if not rows:
            return "You have no price alerts. " + USAGE["alert"]
        lines = ["<b>Your price alerts</b>"]
        for row in rows:
            now = f" · now {money(row.last_price)}" if row.last_price is not None else ""
            lines.append(f"#{row.id} {escape(alerts.describe(row))}{now}")
        return "\n".join(lines)

    async def add_alert(self, chat_id: int, username: str | None, args: list[str]) -> str:
        words = list(args)
        spot = None
        if words and words[-1].lower() in ("spot", "on-demand", "ondemand"):
            spot = words.pop().lower() == "spot"
        if len(words) < 2:
            return USAGE["alert"]
        try:
            max_price = alerts.parse_max_price(words[-1])
            gpu = alerts.resolve_gpu(" ".join(words[:-1]))
        except alerts.AlertError as exc:
            return f"{sentence(str(exc))}\n{USAGE['alert']}"
        try:
            async with self.sessions() as session, session.begin():
                await linking.register_chat(session, chat_id, username)
                row = await alerts.create_alert(session, gpu=gpu, max_price=max_price, spot=spot,
                                                grace_days=self.settings.billing.grace_days,
                                                **await self._owner(session, chat_id))
        except alerts.AlertError as exc:
            return sentence(str(exc))
        except QuotaExhausted as exc:  # the plan's limit, with the upgrade path
            return escape(exc.detail)
        return f"🔔 Alert #{row.id} set: {escape(alerts.describe(row))}.\n{escape(alerts.added_note(row))}"

    async def remove_alert(self, chat_id: int, username: str | None, args: list[str]) -> str:
        if len(args) != 1 or not args[0].lstrip("#").isdigit():
            return USAGE["unalert"]
        alert_id = int(args[0].lstrip("#"))
        async with self.sessions() as session, session.begin():
            removed = await alerts.delete_alert(session, alert_id, **await self._owner(session, chat_id))
        return f"Alert #{alert_id} removed." if removed else f"You have no alert #{alert_id} (see /alerts)."

    async def stop(self, chat_id: int, username: str | None, args: list[str]) -> str:
        async with self.sessions() as session, session.begin():
            await linking.stop_chat(session, chat_id)
        return "🔕 Done: I will send nothing more to this chat. Send /start to turn messages back on."

    async def help(self, chat_id: int, username: str | None, args: list[str]) -> str:
        return self.help_text()

    async def unknown(self, chat_id: int, username: str | None, args: list[str]) -> str:
        return "I don't know that command.\n" + self.help_text()


def escape(text: str) -> str:
    """Text for Telegram's HTML mode (message text, never an attribute: quotes stay as they are)."""
    return _escape(text, quote=False)


def sentence(message: str) -> str:
    """An error message as a sentence: "Unknown GPU 'x'." (keeps the rest's case)."""
    message = message.strip().rstrip(".")
    return escape(message[:1].upper() + message[1:] + ".")


def linking_page() -> str:
    return "/settings/notifications"


def _minutes(delta) -> int:
    return int(delta.total_seconds() // 60)


def _handler(command: Command):
    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat, message = update.effective_chat, update.effective_message
        if chat is None or message is None:
            return
        sender = update.effective_user
        reply = await command(chat.id, sender.username if sender else None, list(context.args or []))
        # The transaction above has committed: only now the network call.
        await message.reply_text(reply, parse_mode=ParseMode.HTML, disable_web_page_preview=True)

    return handle


async def _log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("telegram update failed", exc_info=context.error)


def build_application(settings: Settings, sessions: async_sessionmaker[AsyncSession], *,
                      webhook: bool) -> Application:
    """The bot with its handlers. Webhook mode has no Updater: updates arrive through the web app."""
    builder = Application.builder().token(settings.telegram.bot_token).job_queue(None)
    if webhook:
        builder = builder.updater(None)
    application = builder.build()
    commands = BotCommands(sessions, settings)
    for name, method in (("start", commands.start), ("help", commands.help), ("prices", commands.prices),
                         ("alerts", commands.list_alerts), ("alert", commands.add_alert),
                         ("unalert", commands.remove_alert), ("stop", commands.stop)):
        application.add_handler(CommandHandler(name, _handler(method)))
    application.add_handler(MessageHandler(filters.COMMAND, _handler(commands.unknown)))
    application.add_error_handler(_log_error)
    return application


async def publish_commands(application: Application) -> None:
    await application.bot.set_my_commands([BotCommand(name, text[:256]) for name, text in COMMANDS])


async def run_polling(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Local runs: fetch updates by long polling until cancelled (Ctrl-C)."""
    application = build_application(settings, sessions, webhook=False)
    async with application:  # initialize (getMe) ... shutdown
        await publish_commands(application)
        await application.updater.start_polling(allowed_updates=["message"])  # drops any webhook first
        await application.start()
        try:
            await asyncio.Event().wait()
        finally:
            await application.updater.stop()
            await application.stop()


async def set_webhook(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> str:
    """Production: tell Telegram to POST updates to this server, with the secret header."""
    url = f"{settings.web.base_url.rstrip('/')}/webhooks/telegram"
    application = build_application(settings, sessions, webhook=True)
    async with application:
        await publish_commands(application)
        await application.bot.set_webhook(url=url, secret_token=settings.telegram.webhook_secret,
                                          allowed_updates=["message"])
    return url
