"""/metrics answers only with the configured token or from an allow-listed address."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import replace

import httpx
import pytest
from litestar.testing import AsyncTestClient

from app.server import create_app
from app.settings import WebSettings
from app.web.metrics_access import MetricsAccess

TOKEN = "s3cret-metrics-token"


@pytest.fixture
async def metrics_app(settings, engine, sessions):
    """make(**web settings) -> a started app."""
    async with AsyncExitStack() as stack:
        async def make(**web):
            application = create_app(replace(settings, web=WebSettings(**web)), engine=engine, run_worker=False)
            await stack.enter_async_context(AsyncTestClient(app=application))
            return application

        yield make


async def scrape(application, address: str = "198.51.100.7", **headers) -> httpx.Response:
    transport = httpx.ASGITransport(app=application, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        return await client.get("/metrics", headers=headers)


async def test_without_configuration_metrics_are_closed_even_to_loopback(metrics_app):
    application = await metrics_app()
    for address in ("127.0.0.1", "::1", "198.51.100.7"):
        assert (await scrape(application, address)).status_code == 404


async def test_the_bearer_token_opens_metrics(metrics_app):
    application = await metrics_app(metrics_token=TOKEN)
    assert (await scrape(application, Authorization=f"Bearer {TOKEN}")).status_code == 200
    assert (await scrape(application, Authorization=f"bearer {TOKEN}")).status_code == 200
    for wrong in ("", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer ", f"Bearer {TOKEN[:-1]}"):
        assert (await scrape(application, Authorization=wrong)).status_code == 403, wrong
    assert (await scrape(application, "127.0.0.1")).status_code == 403  # loopback is not special


async def test_allow_listed_networks_open_metrics(metrics_app):
    application = await metrics_app(metrics_allow=("10.20.0.0/16", "2001:db8::/32"))
    assert (await scrape(application, "10.20.3.4")).status_code == 200
    assert (await scrape(application, "2001:db8::7")).status_code == 200
    for outside in ("10.21.0.1", "127.0.0.1", "2001:db9::1", "not-an-ip"):
        assert (await scrape(application, outside)).status_code == 403, outside


def test_ipv4_mapped_addresses_match_their_ipv4_network():
    access = MetricsAccess("", ["192.0.2.0/24"])
    assert access.allows(None, "::ffff:192.0.2.9")
    assert not access.allows(None, "::ffff:198.51.100.1")


def test_a_bad_allow_list_entry_stops_the_app_with_a_clear_message():
    with pytest.raises(ValueError, match="COMPUTEHUB_METRICS_ALLOW: 'ten.0.0.0/8'"):
        MetricsAccess("", ["ten.0.0.0/8"])


async def test_metrics_are_not_in_the_openapi_document(browser):
    paths = (await browser.get("/schema/openapi.json")).json()["paths"]
    assert "/metrics" not in paths
