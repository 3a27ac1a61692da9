"""What the app accepts from outside: text PostgreSQL can store, bounded lengths, ids the database
can hold, dates it can represent.

The web layer checks every request against these once (app/web/input_guard.py); the helpers here
serve the few places that turn a field into a number or a date themselves.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from functools import lru_cache
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

MAX_BODY_BYTES = 1_000_000
"""A whole request body. Our forms post a few KB, Stripe events a few tens of KB."""
MAX_QUERY_STRING = 16_384
MAX_PARAM_CHARS = 1_024


@lru_cache(maxsize=256)
def query_pairs(query_string: bytes) -> tuple[tuple[str, str], ...]:
    """A query string's (name, value) pairs the way Litestar reads them (litestar._parsers:
    percent-escapes as UTF-8, invalid bytes replaced, blank values kept), parsed once for the
    input guard, the prices fast path and the page links of one request."""
    return tuple(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
"""A query or path parameter."""
MAX_FIELD_CHARS = 4_096
"""A form field (an SSH public key is the longest we expect); each form checks shorter columns itself."""
MAX_JSON_DEPTH = 32
"""Nesting of a JSON body: Telegram updates and Stripe events stay under ten."""
DB_ID_MAX = 2**31 - 1
"""Row ids are INTEGER columns (32-bit on PostgreSQL)."""
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2199, 12, 31)
"""Days anyone may ask about: every date computation (a day after, a local midnight) stays representable."""


class InvalidField(ValueError):
    """A value typed into one form or query field that we cannot honour. ``field`` is the field's
    ``name`` attribute (``max_price``, ``from``), None when no single field is to blame; ``str()`` is
    the message for the person. Pages that own the form catch it and show the same page again with
    status 400, the inputs kept and the message next to the field (app/web/form_state.py); anywhere
    else it is a plain 400 with the message (JSON under /api, text for CSV)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    @property
    def message(self) -> str:
        return str(self)


class BadInput(ValueError):
    """A value we never accept (NUL byte, too long, out of range): 400 with this message."""


class BodyTooLarge(BadInput):
    """The request body is over ``MAX_BODY_BYTES``: 413."""


def storable_text_problem(value: str) -> str | None:
    """Why PostgreSQL could not store ``value`` as text, or None: a NUL, or a lone surrogate
    (only JSON's ``\\ud800`` escapes produce one; it has no UTF-8 form)."""
    if "\x00" in value:
        return "contains a NUL character"
    if value.isascii():  # the usual case, and no surrogate is ASCII
        return None
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        return "contains an unpaired surrogate (not valid Unicode)"
    return None


def is_row_id(value: int) -> bool:
    return 1 <= value <= DB_ID_MAX


def parse_row_id(raw: str | None, name: str) -> int | None:
    """A form or query field naming a row: None when empty; beyond what an id can be -> BadInput."""
    raw = (raw or "").strip()
    if not raw:
        return None
    # Length first: int() of thousands of digits is slow, and refused past 4300.
    if len(raw) > len(str(DB_ID_MAX)) or not (raw.isascii() and raw.isdigit()) or not is_row_id(int(raw)):
        raise BadInput(f"{name}: not a valid id")
    return int(raw)


def parse_day(value: str | None, field: str, *, named: bool = False) -> date | None:
    """A date typed into a form or query field (``2026-11-02``), None when empty; a value we cannot
    honour is an ``InvalidField`` for ``field``. ``named`` starts the message with the field's name
    (pages that show one message above the form rather than next to the field)."""
    value = (value or "").strip()
    if not value:
        return None
    prefix = f"{field}: " if named else ""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidField(f"{prefix}expected a date like 2026-11-02, got {value[:40]!r}", field) from None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise InvalidField(f"{prefix}choose a date between {EARLIEST_DAY} and {LATEST_DAY}", field)
    return day


def parse_page(value: str | int | None, maximum: int, field: str = "page", *, named: bool = False) -> int:
    """A page number as typed (empty = 1): a whole number from 1 to ``maximum``, else ``InvalidField``."""
    if isinstance(value, int):
        text = str(value)
    else:
        text = (value or "").strip() or "1"
    prefix = f"{field}: " if named else ""
    # Length first: int() of a long run of digits is slow.
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(maximum))) or not 1 <= int(text) <= maximum:
        raise InvalidField(f"{prefix}must be a whole number from 1 to {maximum}", field)
    return int(text)


def check_day(day: date, name: str) -> date:
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise BadInput(f"{name}: choose a date between {EARLIEST_DAY} and {LATEST_DAY}")
    return day


def json_depth_ok(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether no array or object in ``raw`` nests deeper than ``limit``, without parsing it
    (json.loads of a deep document raises RecursionError, not ValueError)."""
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return False
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return True


def _no_constant(name: str) -> Any:
    raise BadInput(f"the JSON body contains {name}, which is not a number")


def load_json(raw: bytes, limit: int = MAX_JSON_DEPTH) -> Any:
    """A JSON body, parsed only when its nesting is bounded; every string (keys too) storable,
    every integer within 64 bits, no NaN or Infinity."""
    if not json_depth_ok(raw, limit):
        raise BadInput(f"the JSON body is nested too deeply (at most {limit} levels)")
    try:
        document = json.loads(raw, parse_constant=_no_constant)
    except ValueError as exc:  # UnicodeDecodeError included
        if isinstance(exc, BadInput):
            raise
        raise BadInput("the body is not valid JSON") from None
    for value in _leaves(document):
        if isinstance(value, str) and (problem := storable_text_problem(value)):
            raise BadInput(f"a JSON string {problem}")
        if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
            raise BadInput("a JSON integer is out of range")
        if isinstance(value, float) and not math.isfinite(value):
            raise BadInput("a JSON number is out of range")
    return document


def _leaves(value: Any) -> Iterator[Any]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        else:
            yield item
