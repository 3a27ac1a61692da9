"""The words of every notification: Jinja templates per event type, rendered for each channel.

``app/web/templates/notifications/email/<event>.txt`` is the plain-text e-mail (it also sets the
``subject``), ``email/<event>.html`` the HTML part, and ``telegram/<event>.html`` the Telegram
message in Telegram's HTML subset (<b>, <i>, <a>, <code>). A missing variable is an error, not a
silently empty sentence.

A burst sent as one message (``render_digest``) uses ``<event>_digest`` in the same three places,
with ``items``: the list of the single messages' contexts, oldest first.

Context each event takes (plus ``base_url``, added by ``render``):

- deployment_state: instance_name, provider_name, old_status, new_status, instance_url
- failure: instance_name, provider_name, error, instance_url; optional kind (``app.console.signals``)
- repair: instance_name, provider_name, action, result, attempt, instance_url; optional detail
- cost_warning: threshold, spent, budget, month_label
- budget_limit: phase ("notice" | "stopped"), spent, budget, month_label, stop_at, instance_names
- price_alert: gpu_name, price, max_price, provider_name, region, market, age_label, offers_url
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
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


def render_digest(event_type: str, payloads: list[dict]) -> Rendered:
    """One message for a burst: ``payloads`` as ``send_event`` stored them ({base_url, context})."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    if len(payloads) == 1:
        return render(event_type, payloads[0]["base_url"], **payloads[0]["context"])
    base_url = payloads[-1]["base_url"].rstrip("/")
    context = {"items": [p["context"] for p in payloads], "base_url": base_url,
               "settings_url": base_url + SETTINGS_PATH}
    name = f"{event_type}_digest"
    text_module = _env.get_template(f"email/{name}.txt").make_module(context)
    return Rendered(
        subject=str(getattr(text_module, "subject")).strip(),
        text=str(text_module).strip() + "\n",
        html=_env.get_template(f"email/{name}.html").render(context),
        telegram=_env.get_template(f"telegram/{name}.html").render(context).strip(),
    )


async def send_event(session: AsyncSession, user_id: int, event_type: str, *, base_url: str,
                     telegram_enabled: bool, dedupe_key: str | None = None, now: datetime | None = None,
                     coalesce: timedelta | None = None, plan_checked: bool = False, **context: Any) -> int:
    """Render ``event_type`` and queue it in the caller's transaction (see ``outbox.notify``).
    With ``coalesce``, messages of this type queued for the user within that window go out as one."""
    message = render(event_type, base_url, **context)
    payload = {"base_url": base_url, "context": context} if coalesce else None
    return await notify(session, user_id, event_type, message.subject, message.text, message.html,
                        dedupe_key=dedupe_key, telegram_enabled=telegram_enabled, now=now,
                        telegram_text=message.telegram, coalesce=coalesce, payload=payload,
                        plan_checked=plan_checked)
