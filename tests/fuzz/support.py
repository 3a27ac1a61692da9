"""What the fuzz runs send, and how they find the app's surface: routes, forms and API parameters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

from litestar import Litestar

# Every field gets these: the ones that answered 500 before (NUL, size, range).
ALWAYS = {
    "nul": "a\x00b",
    "huge": "x" * 100_000,
    "int64": str(2**63),
    "far-date": "9999-12-31",
    "over-column": "x" * 600,  # longer than every String(n) column, under the guard's field cap
}
# Each field gets a few of these in turn, so every value is sent to many fields.
SAMPLED = {
    "negative": "-1",
    "zero": "0",
    "twenty-digits": "99999999999999999999",
    "int32+1": str(2**31),
    "rtl": "\u202eabc\u202c",
    "emoji": "🚀🔥" * 10,
    "combining": "e" + "\u0301" * 50,
    "ancient-date": "0001-01-01",
    "bad-date": "2026-02-30",
    "nan": "NaN",
    "infinity": "-Infinity",
    "exponent": "1e400",
    "tiny": "1e-30",
    "empty": "",
    "nul-only": "\x00",
}
LONE_SURROGATE_QUERY = "%ED%A0%80"  # UTF-8 of U+D800: what a client can send of a lone surrogate
SAMPLES_PER_FIELD = 4
URL_HUGE = "x" * 60_000
"""In a URL: over SQLite's 50,000-byte LIKE pattern limit, under httpx's 65,536-character URL limit."""


def values_for(index: int, in_url: bool = False) -> dict[str, str]:
    """The values for the index-th field: every ALWAYS value and SAMPLES_PER_FIELD of SAMPLED, rotating."""
    names = list(SAMPLED)
    picked = {names[(index * SAMPLES_PER_FIELD + i) % len(names)] for i in range(SAMPLES_PER_FIELD)}
    values = {**ALWAYS, **{name: SAMPLED[name] for name in picked}}
    if in_url:
        values["huge"] = URL_HUGE
    return values


# What a user would type into an empty field of that name.
PLAUSIBLE = {
    "email": "fuzz@example.com", "password": "correct horse battery staple",
    "password_confirm": "correct horse battery staple", "name": "Fuzz", "label": "fuzz key", "gpu": "h100",
    "max_price": "2.50", "monthly_budget": "100", "health_check_url": "https://example.com/health",
    "code": "123456", "timezone": "UTC", "disk_gb": "100", "image": "pytorch-2.4", "api_key": "sbx_fuzz",
}


@dataclass
class Form:
    page: str
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys(name for name, _ in self.fields))

    def with_value(self, name: str, value: str) -> list[tuple[str, str]]:
        """The form as posted, with its first ``name`` field (a repeated checkbox: the first box) set
        to ``value`` and the empty others filled in plausibly, so the value gets past the first check."""
        at = next(i for i, (key, _) in enumerate(self.fields) if key == name)
        return [(key, value if i == at else default or PLAUSIBLE.get(key, ""))
                for i, (key, default) in enumerate(self.fields)]


class FormReader(HTMLParser):
    """Every <form> of a page with the fields it posts: <input>, <select> (first or selected
    option), <textarea>; submit buttons with a name are fields too."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page, self.forms, self._form, self._select, self._textarea = page, [], None, None, None
        self._by_id: dict[str, Form] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = a.get("action") or urlsplit(self.page).path
            self._form = Form(self.page, action, (a.get("method") or "get").upper())
            self.forms.append(self._form)
            if a.get("id"):
                self._by_id[a["id"]] = self._form
            return
        # A field outside its form names it: <input form="batch">.
        owner = self._by_id.get(a["form"]) if a.get("form") else self._form
        if owner is None:
            return
        if tag in ("input", "button") and a.get("name"):
            owner.fields.append((a["name"], a.get("value", "on" if a.get("type") in ("checkbox", "radio") else "")))
        elif tag == "select" and a.get("name"):
            self._select = [a["name"], None]
        elif tag == "option" and self._select is not None:
            if self._select[1] is None or "selected" in a:
                self._select[1] = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            self._textarea = [a["name"], ""]

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None and self._form is not None:
            self._form.fields.append((self._select[0], self._select[1] or ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form.fields.append(tuple(self._textarea))
            self._textarea = None


def read_forms(page: str, html: str) -> list[Form]:
    reader = FormReader(page)
    reader.feed(html)
    return reader.forms


@dataclass(frozen=True)
class Route:
    path: str
    """The template, e.g. /console/instances/{instance_id:int}"""
    method: str
    handler: str

    @property
    def int_params(self) -> list[str]:
        return [part[1:-5] for part in self.path.split("/") if part.startswith("{") and part.endswith(":int}")]

    @property
    def str_params(self) -> list[str]:
        return [part[1:-5] for part in self.path.split("/") if part.startswith("{") and part.endswith(":str}")]

    def url(self, **values: object) -> str:
        parts = []
        for part in self.path.split("/"):
            if part.startswith("{"):
                part = str(values[part[1:].split(":")[0]])
            parts.append(part)
        return "/".join(parts) or "/"


SKIPPED_PREFIXES = ("/static", "/schema")  # files and the framework's own schema pages


def app_routes(app: Litestar) -> Iterator[Route]:
    """Every method of every route the app serves, OPTIONS and HEAD excepted (the framework's)."""
    for route in app.routes:
        if route.path.startswith(SKIPPED_PREFIXES):
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods):
                if method not in ("OPTIONS", "HEAD"):
                    yield Route(route.path, method, handler.handler_name)


def query(pairs: list[tuple[str, str]] | dict[str, str]) -> str:
    return urlencode(pairs, doseq=True)
