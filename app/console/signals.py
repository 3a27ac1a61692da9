"""Instance state changes, announced to whoever subscribed (notifications, for one).

The console layer and the sync job call ``emit`` in the transaction that writes the change, so a
subscriber's own writes (an outbox row) commit or roll back with it. This module imports nothing
above the console: upper layers subscribe with ``connect`` at start-up (the web app's lifespan,
the worker), and the console never learns who listens.

A receiver is ``async (session, change) -> None``. Receivers are keyed by name: connecting the same
name again (the web app and an embedded worker in one process) replaces it for as long as the newer
registration lasts, so a change is never handled twice by one subscriber.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

# Why a change is a failure (``StateChange.failure``); None for an ordinary change.
PROVIDER_FAILURE = "provider_failure"
"""The provider reports the instance in its error state (a failed boot, a crash)."""
PREEMPTION = "preemption"
"""The provider took a spot instance back (terminated or stopped it to reclaim capacity)."""
LAUNCH_FAILED = "launch_failed"
"""The launch failed: the provider refused it, or it never reached the provider."""
FAILURE_KINDS = (PROVIDER_FAILURE, PREEMPTION, LAUNCH_FAILED)

# Who saw the change (``StateChange.source``).
CONSOLE = "console"
SYNC = "sync"
REPAIR = "repair"


@dataclass(frozen=True, slots=True)
class StateChange:
    instance_id: int
    user_id: int
    instance_name: str
    provider: str
    old_status: str
    new_status: str
    at: datetime
    source: str
    """console (the user's action, or its direct result) | sync | repair"""
    message: str | None = None
    """What the instance's event says about it ("stop requested", "the provider no longer knows ...")."""
    failure: str | None = None
    """One of FAILURE_KINDS when the change is a failure the user should hear about."""
    error: str | None = None
    """The failure in the user's words, when there is one."""


Receiver = Callable[[AsyncSession, StateChange], Awaitable[None]]


@dataclass(frozen=True, eq=False)
class Subscription:
    name: str
    receiver: Receiver


_subscriptions: list[Subscription] = []


def connect(name: str, receiver: Receiver) -> Subscription:
    subscription = Subscription(name, receiver)
    _subscriptions.append(subscription)
    return subscription


def disconnect(subscription: Subscription) -> None:
    if subscription in _subscriptions:
        _subscriptions.remove(subscription)


def receivers() -> list[Receiver]:
    """The newest registration of each name."""
    latest: dict[str, Receiver] = {}
    for subscription in _subscriptions:
        latest[subscription.name] = subscription.receiver
    return list(latest.values())


async def emit(session: AsyncSession, change: StateChange) -> None:
    """Tell every receiver, in the caller's transaction. A receiver's bug is logged and never undoes
    the state change; a database error is raised (the transaction cannot go on after it)."""
    for receiver in receivers():
        try:
            await receiver(session, change)
        except DBAPIError:
            raise
        except Exception:  # noqa: BLE001 - a subscriber's bug must not lose the provider's state
            log.exception("a receiver of the state change %s -> %s of instance %s failed",
                          change.old_status, change.new_status, change.instance_id)
