"""What the issue-16 sources send: the operator key where the provider's docs put it, and no
key where the catalog is public and none is configured."""

from __future__ import annotations

import httpx
import pytest
import respx

from providers.registry import get_source_class
from tests.support.recorded import load_scenarios, mount

# source -> where its documented auth goes: (header name, value format) or ("query", param)
AUTH = {
    "gcp": ("query", "key"),
    "shadeform": ("X-API-KEY", "{key}"),
    "primeintellect": ("Authorization", "Bearer {key}"),
    "latitude": ("Authorization", "Bearer {key}"),
    "hotaisle": ("Authorization", "Token {key}"),
    "koyeb": ("Authorization", "Bearer {key}"),
}


async def _requests(name: str, credentials: dict[str, str]) -> list[httpx.Request]:
    with respx.mock(assert_all_called=False) as router:
        routes = mount(router, load_scenarios(name)["normal"])
        async with httpx.AsyncClient(timeout=5) as http:
            result = await get_source_class(name)(http, credentials).fetch_offers()
        assert result.offers
        return [call.request for route in routes for call in route.calls]


@pytest.mark.parametrize("name", sorted(AUTH))
async def test_the_key_is_sent_where_the_docs_say(name):
    cls = get_source_class(name)
    credentials = cls.test_credentials()
    where, fmt = AUTH[name]
    requests = await _requests(name, credentials)
    assert requests
    for request in requests:
        if where == "query":
            assert request.url.params.get(fmt) == credentials["api_key"]
        else:
            assert request.headers.get(where) == fmt.format(key=credentials["api_key"])


async def test_koyeb_reads_its_public_catalog_without_a_key():
    (request,) = await _requests("koyeb", {"api_key": ""})
    assert "authorization" not in request.headers


def test_keyed_sources_are_not_configured_without_a_key():
    from app.settings import Settings
    from providers.errors import NotConfigured

    settings = Settings()
    for name in ("gcp", "shadeform", "primeintellect", "latitude", "hotaisle"):
        cls = get_source_class(name)
        if all(cls.credentials_from_settings(settings).values()):
            continue  # an operator key is set in this environment
        with pytest.raises(NotConfigured):
            cls.from_settings(settings, httpx.AsyncClient())
    assert get_source_class("koyeb").from_settings(settings, httpx.AsyncClient()) is not None
