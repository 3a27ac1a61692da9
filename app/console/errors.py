"""Console errors with messages safe to show (never a key, never a stack trace)."""

from __future__ import annotations


class ConsoleError(ValueError):
    """Bad input or a refused action: 400 with this message."""


class NotFoundForUser(LookupError):
    """The object does not exist *for this user* (another user's id looks exactly like a missing one)."""
