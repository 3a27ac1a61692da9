"""The shared HTTP layer: one place that turns transport and HTTP failures into typed errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from providers.errors import (
    BadResponse,
    InvalidCredentials,
    InvalidRequest,
    NoCapacity,
    NotFound,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    QuotaExceeded,
    RateLimited,
)

USER_AGENT = "ComputeHub/0.1 (+https://github.com/computehub)"
DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=10.0)

# Maps a provider's error body to a typed error (or None to fall back to the status code).
ErrorMapper = Callable[[httpx.Response, Any], ProviderError | None]


def new_client(timeout: float | httpx.Timeout = DEFAULT_TIMEOUT, **kw) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=timeout, headers={"User-Agent": USER_AGENT}, follow_redirects=False, **kw
    )


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After in either form: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def decode_json(response: httpx.Response, provider: str) -> Any:
    """JSON with every number that has a fraction parsed as Decimal (money stays exact)."""
    try:
        return json.loads(response.content, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadResponse(
            f"malformed JSON from {response.request.url.host} (HTTP {response.status_code})",
            provider=provider,
            status_code=response.status_code,
        ) from exc


def _short_message(body: Any) -> str:
    if isinstance(body, Mapping):
        for key in ("message", "detail", "msg", "error_description", "description", "title"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:300]
        error = body.get("error")
        if isinstance(error, Mapping):
            return _short_message(error)
        if isinstance(error, str):
            return error[:300]
    return ""


REFUSED_CREATE_STATUSES = (400, 402, 409, 422)


def refusal_by_words(response: httpx.Response, words: str, provider: str, *, quota_hints: tuple[str, ...],
                     capacity_hints: tuple[str, ...]) -> ProviderError | None:
    """A refused create where the provider has no code telling "over a limit" or "sold out" apart from
    another refusal: the words decide (each adapter keeps its hints narrow and uses this on create only).
    None for any other answer, so the usual status mapping applies."""
    if response.status_code not in REFUSED_CREATE_STATUSES:
        return None
    lowered = words.lower()
    if any(hint in lowered for hint in quota_hints):
        return QuotaExceeded(words, provider=provider, status_code=response.status_code)
    if any(hint in lowered for hint in capacity_hints):
        return NoCapacity(words, provider=provider, status_code=response.status_code)
    return None


def raise_for_status(response: httpx.Response, provider: str, mapper: ErrorMapper | None = None) -> None:
    if response.is_success:
        return
    try:
        body: Any = json.loads(response.content) if response.content else None
    except ValueError:
        body = response.text[:300]
    if mapper is not None:
        mapped = mapper(response, body)
        if mapped is not None:
            raise mapped
    status = response.status_code
    detail = _short_message(body) or (body if isinstance(body, str) else "") or response.reason_phrase
    kw = {"provider": provider, "status_code": status}
    if status == 429:
        raise RateLimited(
            f"rate limited: {detail}", retry_after=parse_retry_after(response.headers.get("Retry-After")), **kw
        )
    if status in (401, 403):
        raise InvalidCredentials(f"the API key was refused (HTTP {status}): {detail}", **kw)
    if status == 404:
        raise NotFound(f"not found: {detail}", **kw)
    if status >= 500:
        raise ProviderUnavailable(f"provider error (HTTP {status}): {detail}", **kw)
    raise InvalidRequest(f"request refused (HTTP {status}): {detail}", **kw)


async def request_json(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    provider: str,
    mapper: ErrorMapper | None = None,
    **kw: Any,
) -> Any:
    """Send a request and return its decoded JSON body, or raise a typed ProviderError."""
    response = await request_ok(client, method, url, provider=provider, mapper=mapper, **kw)
    if not response.content:
        return None
    return decode_json(response, provider)


async def request_ok(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    provider: str,
    mapper: ErrorMapper | None = None,
    **kw: Any,
) -> httpx.Response:
    """Send a request and return the successful response (any body format), or raise a typed ProviderError."""
    try:
        response = await client.request(method, url, **kw)
    except httpx.TimeoutException as exc:
        raise ProviderTimeout(f"no answer from {httpx.URL(url).host} in time", provider=provider) from exc
    except httpx.TransportError as exc:
        raise ProviderUnavailable(
            f"cannot reach {httpx.URL(url).host}: {type(exc).__name__}", provider=provider
        ) from exc
    raise_for_status(response, provider, mapper)
    return response
