"""A page's form as the user typed it, and what was wrong with it.

Bad input raises ``InvalidField`` (app/services/inputs.py) naming the form field. A page that owns
the form builds itself through ``build_with_form``: on a bad field it records the message, drops
that field and builds again, so the SAME page comes back with status 400, the other filters
applied, every input as typed and the message next to its field (templates: ``_fields.html``).
Nothing here knows any field name: a new filter only has to raise ``InvalidField(message, name)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from litestar.datastructures import MultiDict

from app.services.inputs import InvalidField

T = TypeVar("T")
MAX_ROUNDS = 8
"""Bad fields dropped one by one before giving up and building the page without any input."""
GENERAL = ""
"""The key of a message no single field is to blame for."""


@dataclass(frozen=True)
class FormState:
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Every field as sent, repeated ones (checkboxes) in order."""
    errors: Mapping[str, str] = field(default_factory=dict)
    """Field name -> message (``GENERAL`` for one no field is to blame for)."""

    @classmethod
    def of(cls, params: Iterable[tuple[str, str]], errors: Mapping[str, str] | None = None) -> FormState:
        values: dict[str, list[str]] = {}
        for name, value in params:
            values.setdefault(name, []).append(value)
        return cls({name: tuple(v) for name, v in values.items()}, dict(errors or {}))

    @property
    def invalid(self) -> bool:
        return bool(self.errors)

    @property
    def status(self) -> int:
        return 400 if self.errors else 200

    def error(self, name: str) -> str | None:
        return self.errors.get(name)

    @staticmethod
    def error_id(name: str) -> str:
        return f"field-error-{name or 'form'}"

    def raw(self, name: str) -> str:
        values = self.values.get(name, ())
        return values[-1] if values else ""

    def raw_all(self, name: str) -> tuple[str, ...]:
        return self.values.get(name, ())

    def value(self, name: str, parsed: object) -> str:
        """What the field shows: as typed when it is the bad one, else the parsed value."""
        if name in self.errors:
            return self.raw(name)
        return "" if parsed is None else str(parsed)

    def unlisted(self, name: str, listed: Iterable[str]) -> list[str]:
        """Values of a select or checkbox group that are not among its options (an unknown GPU):
        the template adds them, selected, so the input is kept."""
        known = set(listed)
        return [v for v in dict.fromkeys(self.raw_all(name)) if v.strip() and v not in known]


def params_of(pairs: Iterable[tuple[str, str]]) -> MultiDict:
    return MultiDict(list(pairs))


async def build_with_form(build: Callable[[MultiDict], Awaitable[T]], params: MultiDict) -> tuple[T, FormState]:
    """``build(params)``; each ``InvalidField`` drops its field and builds again."""
    sent = list(params.multi_items())
    errors: dict[str, str] = {}
    current = sent
    for _ in range(MAX_ROUNDS):
        try:
            return await build(params_of(current)), FormState.of(sent, errors)
        except InvalidField as exc:
            name = exc.field or GENERAL
            errors.setdefault(name, str(exc))
            remaining = [(k, v) for k, v in current if k != name]
            if name == GENERAL or len(remaining) == len(current):
                break  # nothing left to drop for this error: build with no input at all
            current = remaining
    return await build(params_of([])), FormState.of(sent, errors)
