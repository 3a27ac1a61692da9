"""Typed provider errors. Callers branch on the type and ``retryable``, never on message text.

Messages are written for users and never contain credentials.
"""

from __future__ import annotations

from typing import ClassVar


class ProviderError(Exception):
    retryable: ClassVar[bool] = False
    kind: ClassVar[str] = "error"

    def __init__(self, message: str, *, provider: str = "", status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status_code = status_code

    def __str__(self) -> str:
        prefix = f"{self.provider}: " if self.provider else ""
        return f"{prefix}{self.message}"


class NotConfigured(ProviderError):
    """The source needs an operator key and none is set."""

    kind = "not_configured"


class InvalidCredentials(ProviderError):
    """The key was refused (401/403). Stop and flag the key binding."""

    kind = "auth"


class RateLimited(ProviderError):
    retryable = True
    kind = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ProviderUnavailable(ProviderError):
    """5xx, connection refused, upstream outage."""

    retryable = True
    kind = "unavailable"


class ProviderTimeout(ProviderUnavailable):
    kind = "timeout"


class BadResponse(ProviderError):
    """The provider answered with a body we cannot trust (malformed JSON, error envelope, drift)."""

    retryable = True
    kind = "bad_response"


class InvalidRequest(ProviderError):
    """The provider refused our parameters (4xx other than auth/rate limit)."""

    kind = "invalid_request"


class NotFound(ProviderError):
    kind = "not_found"


class NoCapacity(ProviderError):
    """The offer is sold out right now: try another offer."""

    retryable = True
    kind = "no_capacity"


class QuotaExceeded(ProviderError):
    kind = "quota"


class Unsupported(ProviderError):
    """The provider's API has no such operation; ``reason`` says why, for the console."""

    kind = "unsupported"
