"""Console errors with messages safe to show (never a key, never a stack trace)."""

from __future__ import annotations

from app.services.inputs import InvalidField


class ConsoleError(ValueError):
    """Bad input or a refused action: 400 with this message."""


class InvalidSelection(ConsoleError, InvalidField):
    """A batch with nothing (or something odd) selected, or no such action: the console again (400),
    the message at the batch bar. ``field`` is ``id`` (the selection) or ``op``."""


class NotFoundForUser(LookupError):
    """The object does not exist *for this user* (another user's id looks exactly like a missing one)."""
