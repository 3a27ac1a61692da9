"""Deployment notifications: every state change the console, the sync job or auto-repair sees.

Subscribed to ``app.console.signals`` (the console never imports this package): each change
queues a ``deployment_state`` message with the old and the new state, and a change that is a
failure (the provider's error state, a preempted spot instance, a failed launch) also queues a
``failure``. Both are written in the transaction that writes the change, with a dedupe key per
change, and held for ``COALESCE_WINDOW`` so a burst (a batch stop, a sync that finds several
changes) reaches the user as one message per channel. The user's switches decide who hears what
(``outbox.notify``).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.console import signals
from app.console.overview import provider_display_name
from app.notifications.messages import send_event
from app.settings import Settings

SUBSCRIBER = "notifications"
COALESCE_WINDOW = timedelta(seconds=60)
"""Changes for one user within this long after the first go out as one message."""
_FAILURE_WORDS = {
    signals.PREEMPTION: "Preempted",
    signals.LAUNCH_FAILED: "The launch failed",
    signals.PROVIDER_FAILURE: "The provider reports a failure",
}


async def notify_change(session: AsyncSession, change: signals.StateChange, *, base_url: str,
                        telegram_enabled: bool, window: timedelta = COALESCE_WINDOW) -> int:
    """Queue what ``change`` means for its owner; returns how many messages were queued."""
    context = dict(instance_name=change.instance_name, provider_name=provider_display_name(change.provider),
                   instance_url=f"{base_url.rstrip('/')}/console/instances/{change.instance_id}")
    key = f"{change.instance_id}:{change.at.isoformat()}:{change.old_status}>{change.new_status}"
    common = dict(base_url=base_url, telegram_enabled=telegram_enabled, now=change.at, coalesce=window)
    queued = await send_event(session, change.user_id, "deployment_state", dedupe_key=f"state:{key}",
                              old_status=change.old_status, new_status=change.new_status, **common, **context)
    if change.failure in signals.FAILURE_KINDS:
        words = _FAILURE_WORDS[change.failure]
        error = f"{words}: {change.error}" if change.error else words
        queued += await send_event(session, change.user_id, "failure", dedupe_key=f"failure:{key}",
                                   error=error, kind=change.failure, **common, **context)
    return queued


def install(settings: Settings) -> signals.Subscription:
    """Subscribe with ``settings`` (links, whether Telegram is configured); ``signals.disconnect``
    the result when the process (web app or worker) stops."""
    async def on_state_change(session: AsyncSession, change: signals.StateChange) -> None:
        await notify_change(session, change, base_url=settings.web.base_url,
                            telegram_enabled=settings.telegram.enabled)

    return signals.connect(SUBSCRIBER, on_state_change)
