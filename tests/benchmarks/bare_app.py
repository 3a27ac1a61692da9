"""The baseline server: a bare Litestar app with one JSON endpoint and a static payload.

The payload (``BENCH_PAYLOAD``, a JSON file) is a real /api/v1/prices answer, decoded once at
start and serialized by Litestar on every request, like the real endpoint's response.
"""

from __future__ import annotations

import json
import os
from typing import Any

from litestar import Litestar, get

PAYLOAD: Any = json.loads(open(os.environ["BENCH_PAYLOAD"], encoding="utf-8").read())


@get("/payload", sync_to_thread=False)
def payload() -> Any:
    return PAYLOAD


@get("/healthz", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar(route_handlers=[payload, healthz])
