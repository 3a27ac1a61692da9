"""``/robots.txt`` and ``/sitemap.xml`` for search engines."""

from __future__ import annotations

from xml.sax.saxutils import escape

from litestar import Request, Response, get
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from app.web.pages.common import base_url
from app.web.queries import families_with_offers, market_by_gpu


@get("/robots.txt", name="robots", include_in_schema=False, media_type="text/plain")
async def robots_txt(request: Request) -> str:
    return f"User-agent: *\nDisallow: /api/\nAllow: /\n\nSitemap: {base_url(request)}/sitemap.xml\n"


async def sitemap_paths(session: AsyncSession) -> list[str]:
    families = families_with_offers(await market_by_gpu(session))
    return ["/", "/gpus", *(f"/gpus/{family}" for family in families), "/compare", "/sources"]


@get("/sitemap.xml", name="sitemap", include_in_schema=False)
async def sitemap_xml(request: Request, db: NamedDependency[AsyncSession]) -> Response[str]:
    base = base_url(request)
    urls = "".join(f"  <url><loc>{escape(base + path)}</loc></url>\n" for path in await sitemap_paths(db))
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{urls}</urlset>\n'
    return Response(body, media_type="application/xml")
