"""The API docs page at /schema: Redoc, started by a static script instead of Litestar's inline one,
so the page keeps a Content-Security-Policy without inline script (see security_headers.py)."""

from __future__ import annotations

import html
from typing import Any

from litestar import Request
from litestar.openapi.plugins import RedocRenderPlugin

REDOC_JS = "https://cdn.redoc.ly/redoc/v2.1.5/bundles/redoc.standalone.js"
# Redoc comes from its CDN, runs a web worker from a blob and styles itself inline.
API_DOCS_CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self' https://cdn.redoc.ly",
    "worker-src 'self' blob:",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))


class ApiDocsPlugin(RedocRenderPlugin):
    def __init__(self) -> None:
        super().__init__(js_url=REDOC_JS, google_fonts=False, path="/redoc",
                         favicon='<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">')

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(openapi_schema["info"]["title"])
        spec_url = html.escape(f"{request.app.openapi_config.path}/openapi.json")
        return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  {self.favicon}
  {self.style}
</head>
<body>
  <div id="redoc-container" data-spec-url="{spec_url}"></div>
  <script src="{self.js_url}" crossorigin></script>
  <script src="/static/api-docs.js"></script>
</body>
</html>""".encode()
