"""One check of every request's input before any handler or database work.

Refused with 400 (the app's error page, JSON under /api, see app/web/errors.py):
- a NUL byte or an unpaired surrogate in any path or query parameter, form field (urlencoded,
  %00 included, or multipart) or JSON string: PostgreSQL text cannot hold either;
- a query parameter over ``MAX_PARAM_CHARS``, a query string over ``MAX_QUERY_STRING``, a form
  field over ``MAX_FIELD_CHARS`` (each form checks its shorter columns itself, with its own
  message next to the field: the fuzz sends every field a value longer than any column);
- a JSON body nested deeper than ``MAX_JSON_DEPTH`` (checked before it is parsed);
and with 413 a body over ``MAX_BODY_BYTES``. An integer path parameter (every ``{…:int}`` route
names a row) that no row id can be answers 404, like a missing row.

The middleware runs after routing (Litestar builds it into each route), so the path parameters
are parsed; it buffers the body and hands the same bytes on to the handler.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from typing import Any
from urllib.parse import parse_qsl

from litestar._multipart import parse_multipart_form
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.services.inputs import (
    MAX_BODY_BYTES,
    MAX_FIELD_CHARS,
    MAX_PARAM_CHARS,
    MAX_QUERY_STRING,
    BadInput,
    BodyTooLarge,
    is_row_id,
    load_json,
    query_pairs,
    storable_text_problem,
)

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def check_text(where: str, value: str, limit: int) -> None:
    problem = storable_text_problem(value)
    if problem:
        raise BadInput(f"{where} {problem}")
    if len(value) > limit:
        raise BadInput(f"{where} is too long (at most {limit:,} characters)")


def check_path(scope: Scope) -> None:
    for name, value in (scope.get("path_params") or {}).items():
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            if not is_row_id(value):  # -1, 0, 2**63: no such row, as for any other missing id
                raise NotFoundException(f"no such {name.replace('_', ' ').removesuffix(' id')}")
        elif isinstance(value, str):
            check_text(f"path parameter {name!r}", value, MAX_PARAM_CHARS)


def check_query(raw: bytes) -> None:
    # The way Litestar decodes it (percent-escapes as UTF-8, invalid bytes replaced). Each value
    # first, so the answer names the parameter; the server bounds the whole line already.
    for key, value in query_pairs(raw):
        check_text("a query parameter name", key, MAX_PARAM_CHARS)
        check_text(f"query parameter {key!r}", value, MAX_PARAM_CHARS)
    if len(raw) > MAX_QUERY_STRING:
        raise BadInput(f"the query string is too long (at most {MAX_QUERY_STRING:,} bytes)")


def check_fields(fields: Iterable[tuple[str, Any]]) -> None:
    for key, value in fields:
        check_text("a form field name", key, MAX_PARAM_CHARS)
        if isinstance(value, str):
            check_text(f"field {key!r}", value, MAX_FIELD_CHARS)


def _content_type(scope: Scope) -> tuple[str, dict[str, str]]:
    for key, value in scope.get("headers") or ():
        if key == b"content-type":
            main, *params = value.decode("latin-1").split(";")
            options = dict(p.strip().split("=", 1) for p in params if "=" in p)
            return main.strip().lower(), {k.lower(): v.strip('"') for k, v in options.items()}
    return "", {}


async def _multipart_fields(body: bytes, boundary: str) -> list[tuple[str, Any]]:
    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    # Litestar's own parser: the guard sees exactly the fields the handler will.
    try:
        parsed = await parse_multipart_form(stream(), boundary.encode("latin-1"))
    except UnicodeDecodeError:  # the parser decodes each text field as UTF-8
        raise BadInput("a multipart field is not valid UTF-8") from None
    fields = [(key, value) for key, values in parsed.items()
              for value in (values if isinstance(values, list) else [values])]
    for _, value in fields:
        if isinstance(value, UploadFile):
            await value.close()
    return fields


async def check_body(scope: Scope, body: bytes) -> None:
    if not body:
        return
    content_type, options = _content_type(scope)
    if content_type == "application/json" or content_type.endswith("+json"):
        load_json(body)
    elif content_type == "multipart/form-data":
        if "boundary" not in options:
            raise BadInput("multipart boundary missing in Content-Type")
        check_fields(await _multipart_fields(body, options["boundary"]))
    elif content_type == "application/x-www-form-urlencoded":
        check_fields(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
    elif b"\x00" in body:  # anything else is read raw (webhooks): still no NUL
        raise BadInput("the body contains a NUL byte")


async def read_body(scope: Scope, receive: Receive) -> tuple[bytes, list[Message]]:
    """The whole body (at most MAX_BODY_BYTES) and any message that came after it."""
    for key, value in scope.get("headers") or ():
        if key == b"content-length" and value.strip().isdigit() and int(value) > MAX_BODY_BYTES:
            raise BodyTooLarge(f"the request body is too large (at most {MAX_BODY_BYTES:,} bytes)")
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), [message]
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge(f"the request body is too large (at most {MAX_BODY_BYTES:,} bytes)")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), []


def input_guard(app: ASGIApp) -> ASGIApp:
    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        check_path(scope)
        check_query(scope.get("query_string", b""))
        if scope["method"] not in BODY_METHODS:
            await app(scope, receive, send)
            return
        body, after = await read_body(scope, receive)
        await check_body(scope, body)
        replay: list[Message] = [{"type": "http.request", "body": body, "more_body": False}, *after]

        async def replayed() -> Message:
            return replay.pop(0) if replay else await receive()

        await app(scope, replayed, send)

    return guarded
