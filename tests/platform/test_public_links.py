"""Every link we hand out (reset e-mail, robots.txt, sitemap) starts at the address the server is
really reached on: COMPUTEHUB_BASE_URL when set, otherwise http://host:port from the listen settings."""

from __future__ import annotations

from dataclasses import replace
from xml.etree import ElementTree

import pytest

from app.settings import WebSettings
from providers.gpus import FAMILIES, VARIANTS
from tests.auth.support import make_user
from tests.auth.test_password_reset import outbox

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}loc"


@pytest.fixture
def env(monkeypatch):
    for name in ("COMPUTEHUB_BASE_URL", "COMPUTEHUB_HOST", "COMPUTEHUB_PORT"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def settings(settings, env):
    """The auth test settings, with web settings read from the environment as in production."""
    env.setenv("COMPUTEHUB_PORT", "8101")
    return replace(settings, web=WebSettings())


def test_base_url_is_derived_from_host_and_port(env):
    env.setenv("COMPUTEHUB_PORT", "8101")
    assert WebSettings().base_url == "http://127.0.0.1:8101"
    env.setenv("COMPUTEHUB_HOST", "gpu-box.lan")
    assert WebSettings().base_url == "http://gpu-box.lan:8101"
    env.setenv("COMPUTEHUB_HOST", "0.0.0.0")  # bind-all: reached on loopback
    assert WebSettings().base_url == "http://127.0.0.1:8101"
    env.setenv("COMPUTEHUB_HOST", "::1")
    assert WebSettings().base_url == "http://[::1]:8101"
    assert WebSettings(host="127.0.0.1", port=9000).base_url == "http://127.0.0.1:9000"


def test_an_explicit_base_url_wins(env):
    env.setenv("COMPUTEHUB_PORT", "8101")
    env.setenv("COMPUTEHUB_BASE_URL", "https://prices.example.com")
    assert WebSettings().base_url == "https://prices.example.com"
    assert WebSettings().is_https


async def sitemap_locs(browser) -> list[str]:
    response = await browser.get("/sitemap.xml")
    assert response.status_code == 200
    return [loc.text for loc in ElementTree.fromstring(response.text).iter(SITEMAP_NS)]


async def test_reset_mail_robots_and_sitemap_use_the_configured_port(browser, sessions, settings):
    await make_user(sessions, "ada@example.com")
    assert (await browser.submit("/forgot", "/forgot", {"email": "ada@example.com"})).status_code == 200
    [message] = outbox(settings)
    assert "http://127.0.0.1:8101/reset/" in message.get_body(preferencelist=("plain",)).get_content()

    robots = (await browser.get("/robots.txt")).text
    assert "Sitemap: http://127.0.0.1:8101/sitemap.xml" in robots

    locs = await sitemap_locs(browser)
    assert locs and all(loc.startswith("http://127.0.0.1:8101/") for loc in locs)


async def test_the_sitemap_lists_every_gpu_family_and_variant_page(browser, sessions, settings):
    locs = await sitemap_locs(browser)
    base = settings.web.base_url
    expected = {f"{base}/gpus/{slug}" for slug in [*FAMILIES, *VARIANTS]}
    assert expected <= set(locs)
    assert len(locs) == len(set(locs))  # no page twice
    for loc in locs:  # every listed page exists
        assert (await browser.get(loc.removeprefix(base))).status_code == 200, loc
