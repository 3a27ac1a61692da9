"""Page weight: compressed responses (brotli, gzip) and static files under content-hashed URLs
cached as immutable. Sizes are the bytes on the wire, read raw from the ASGI app before decoding."""

from __future__ import annotations

import gzip
from datetime import timedelta

import brotli
import pytest
from litestar.testing import AsyncTestClient

from app.db.types import utcnow
from app.services.history import refresh_daily_stats
from tests.support.factories import make_offer, seed
from tests.web.html import parse_html

BROWSER_ENCODINGS = {"Accept-Encoding": "br, gzip"}
COLD_CACHE_BUDGET = 1_500_000


async def wire(client: AsyncTestClient, url: str, **headers: str) -> tuple[int, dict, bytes]:
    """Status, headers and the body exactly as sent (still compressed)."""
    async with client.stream("GET", url, headers=headers) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    return response.status_code, response.headers, raw


def decoded(headers, raw: bytes) -> bytes:
    return {"br": brotli.decompress, "gzip": gzip.decompress}.get(headers.get("content-encoding", ""), bytes)(raw)


async def chart_history(sessions) -> None:
    """Three days of H100 prices, so /gpus/h100 draws its plotly chart."""
    now = utcnow()
    for days_ago, price in ((3, "2.90"), (2, "2.70"), (1, "2.50")):
        at = now - timedelta(days=days_ago)
        await seed(sessions, [make_offer("lambdalabs", "H100 SXM", price), make_offer("runpod", "H100 PCIe", price)], at=at)
        async with sessions() as session, session.begin():
            await refresh_daily_stats(session, at.date())


def referenced(html: str) -> list[str]:
    """Every script, stylesheet, icon and image the page makes a browser fetch."""
    doc = parse_html(html)
    urls = [node.get("src") for node in doc.find_all("script") + doc.find_all("img") if node.get("src")]
    urls += [node.get("href") for node in doc.find_all("link") if node.get("rel") in ("stylesheet", "icon")]
    return urls


async def test_gpu_page_with_a_cold_cache_transfers_under_one_and_a_half_megabytes(client, sessions):
    await chart_history(sessions)
    status, headers, raw = await wire(client, "/gpus/h100", **BROWSER_ENCODINGS)
    assert status == 200
    html = decoded(headers, raw).decode()
    assert 'id="price-history-chart"' in html
    assets = referenced(html)
    assert any("plotly" in url for url in assets), assets  # the heavy page: the chart's bundle is loaded
    sizes = {"/gpus/h100": len(raw)}
    for url in assets:
        status, headers, raw = await wire(client, url, **BROWSER_ENCODINGS)
        assert status == 200, url
        sizes[url] = len(raw)
    assert sum(sizes.values()) < COLD_CACHE_BUDGET, sizes


async def test_pages_are_compressed_with_brotli_or_gzip_and_plain_for_a_client_that_asks_for_neither(client, sessions):
    await chart_history(sessions)
    plain_status, plain_headers, plain = await wire(client, "/gpus/h100", **{"Accept-Encoding": "identity"})
    assert plain_status == 200 and "content-encoding" not in plain_headers
    for encoding in ("br", "gzip"):
        status, headers, raw = await wire(client, "/gpus/h100", **{"Accept-Encoding": encoding})
        assert (status, headers["content-encoding"]) == (200, encoding)
        assert "accept-encoding" in headers["vary"].lower()
        assert len(raw) < len(plain) / 3
        assert decoded(headers, raw).decode().count("<tr") == plain.decode().count("<tr")


async def test_cached_api_bodies_are_compressed_per_client_not_stored_compressed(client, sessions):
    """The price cache (app/cache/responses.py) keeps the body the handler built: compression comes after it."""
    await seed(sessions, [make_offer("lambdalabs", "H100 SXM", "2.99")] * 1)
    bodies = []
    for encoding in ("br", "identity", "gzip", "identity"):
        status, headers, raw = await wire(client, "/api/v1/prices?per_page=500", **{"Accept-Encoding": encoding})
        assert status == 200
        assert headers.get("content-encoding", "identity") == encoding or len(raw) < 500
        bodies.append(decoded(headers, raw))
    assert len(set(bodies)) == 1 and b"lambdalabs" in bodies[0]


@pytest.mark.parametrize("name", ["site.css", "site.js", "favicon.svg", "vendor/plotly.min.js"])
async def test_static_files_under_their_hashed_url_are_immutable_and_plain_urls_keep_working(client, sessions, name):
    html = (await client.get("/gpus/mi300x")).text + (await client.get("/costs", follow_redirects=True)).text
    status, headers, plain = await wire(client, f"/static/{name}", **{"Accept-Encoding": "identity"})
    assert status == 200
    assert "immutable" not in headers["cache-control"]
    # The helper names the content: /static/site.<12 hex>.css, so a change is a new URL.
    from app.web.assets import static_url

    hashed = static_url(name)
    assert hashed != f"/static/{name}" and hashed.startswith(f"/static/{name.rsplit('.', 1)[0]}.")
    status, headers, raw = await wire(client, hashed, **BROWSER_ENCODINGS)
    assert status == 200
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert headers["content-encoding"] == "br" and decoded(headers, raw) == plain
    if name != "vendor/plotly.min.js":  # the bundle is linked by chart pages only
        assert hashed in html


async def test_every_static_file_a_page_links_is_hashed(client, sessions):
    await chart_history(sessions)
    for page in ("/", "/gpus/h100", "/login", "/schema"):
        for url in referenced((await client.get(page)).text):
            status, headers, _ = await wire(client, url)
            assert status == 200 and headers["cache-control"].endswith("immutable"), (page, url)


@pytest.mark.parametrize("url", ["/static/site.000000000000.css", "/static/nope.css", "/static/../server.py",
                                 "/static/%2e%2e/server.py", "/static/vendor/../../settings.py"])
async def test_an_unknown_file_or_an_old_hash_is_a_404(client, sessions, url):
    status, _, _ = await wire(client, url)
    assert status == 404
