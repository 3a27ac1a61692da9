"""The words of every notification: Jinja templates per event type, rendered for each channel.

``app/web/templates/notifications/email/<event>.txt`` is the plain-text e-mail (it also sets the
``subject``), ``email/<event>.html`` the HTML part, and ``telegram/<event>.html`` the Telegram
message in Telegram's HTML subset (<b>, <i>, <a>, <code>). A missing variable is an error, not a
silently empty sentence.

Context each event takes (plus ``base_url``, added by ``render``):

- deployment_state: instance_name, provider_name, old_status, new_status, instance_url
- failure: instance_name, provider_name, error, instance_url
- repair: instance_name, provider_name, action, result, attempt, instance_url; optional detail
- cost_warning: threshold, spent, budget, month_label
- price_alert: gpu_name, price, max_price, provider_name, region, market, age_label, offers_url
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from app.notifications.events import EVENT_TYPES
from app.notifications.outbox import notify
from app.web.formatting import money

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates" / "notifications"
SETTINGS_PATH = "/settings/notifications"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
)
_env.filters["money"] = money


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    telegram: str


def render(event_type: str, base_url: str, **context: Any) -> Rendered:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    context = {**context, "base_url": base_url.rstrip("/"),
               "settings_url": base_url.rstrip("/") + SETTINGS_PATH}
    text_module = _env.get_template(f"email/{event_type}.txt").make_module(context)
    return Rendered(
        subject=str(getattr(text_module, "subject")).strip(),
        text=str(text_module).strip() + "\n",
        html=_env.get_template(f"email/{event_type}.html").render(context),
        telegram=_env.get_template(f"telegram/{event_type}.html").render(context).strip(),
    )


async def send_event(session: AsyncSession, user_id: int, event_type: str, *, base_url: str,
                     telegram_enabled: bool, dedupe_key: str | None = None, now: datetime | None = None,
                     **context: Any) -> int:
    """Render ``event_type`` and queue it in the caller's transaction (see ``outbox.notify``)."""
    message = render(event_type, base_url, **context)
    return await notify(session, user_id, event_type, message.subject, message.text, message.html,
                        dedupe_key=dedupe_key, telegram_enabled=telegram_enabled, now=now,
                        telegram_text=message.telegram)
