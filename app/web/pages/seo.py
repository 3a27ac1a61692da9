"""``/robots.txt`` and ``/sitemap.xml`` for search engines."""

from __future__ import annotations

from xml.sax.saxutils import escape

from litestar import Request, Response, get

from app.web.pages.common import base_url
from providers.gpus import FAMILIES, VARIANTS


@get("/robots.txt", permission="public", name="robots", include_in_schema=False, media_type="text/plain")
async def robots_txt(request: Request) -> str:
    return f"User-agent: *\nDisallow: /api/\nAllow: /\n\nSitemap: {base_url(request)}/sitemap.xml\n"


def sitemap_paths() -> list[str]:
    """Every page a search engine should know: each GPU family and each variant the catalog has
    (the GPU pages serve all of them, with or without current offers). A family's unstated entry
    (form factor not stated) is not a page: its offers are on the family's page."""
    gpu_pages = dict.fromkeys([*FAMILIES, *VARIANTS])
    return ["/", "/gpus", *(f"/gpus/{slug}" for slug in gpu_pages), "/compare", "/sources"]


@get("/sitemap.xml", permission="public", name="sitemap", include_in_schema=False)
async def sitemap_xml(request: Request) -> Response[str]:
    base = base_url(request)
    urls = "".join(f"  <url><loc>{escape(base + path)}</loc></url>\n" for path in sitemap_paths())
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{urls}</urlset>\n'
    return Response(body, media_type="application/xml")
