"""plotly.js served from the installed plotly package: no CDN, nothing copied into the repo."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import plotly
from litestar import Response, get


@cache
def _plotly_bundle() -> bytes:
    return (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()


@get("/static/vendor/plotly.min.js", include_in_schema=False, sync_to_thread=False)
def plotly_js() -> Response[bytes]:
    return Response(
        _plotly_bundle(),
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )
