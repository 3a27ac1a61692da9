"""The baseline server: a bare Litestar app with one JSON endpoint and a static payload.

The payload (``BENCH_PAYLOAD``, a JSON file) is a real /api/v1/prices answer, decoded once at
start and serialized by Litestar on every request, like the real endpoint's response. ``BENCH_PAGE``
(optional, an HTML file, compressed with ``BENCH_PAGE_ENCODING`` if set) is served as it is under
/page: the baseline of a cached page.
"""

from __future__ import annotations

import json
import os
from typing import Any

from litestar import Litestar, Response, get
from litestar.enums import MediaType

PAYLOAD: Any = json.loads(open(os.environ["BENCH_PAYLOAD"], encoding="utf-8").read())
PAGE: bytes = open(os.environ["BENCH_PAGE"], "rb").read() if os.environ.get("BENCH_PAGE") else b""
PAGE_HEADERS = {"content-encoding": os.environ["BENCH_PAGE_ENCODING"]} if os.environ.get("BENCH_PAGE_ENCODING") else {}


@get("/payload", sync_to_thread=False)
def payload() -> Any:
    return PAYLOAD


@get("/page", sync_to_thread=False)
def page() -> Response:
    return Response(content=PAGE, media_type=MediaType.HTML, headers=PAGE_HEADERS)


@get("/healthz", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar(route_handlers=[payload, page, healthz])
