"""What the second wave of issue-16 sources send: the operator key where the provider's docs put it,
only to that provider (never to the ECB), and the documented request body."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from app.settings import Settings
from providers.errors import NotConfigured
from providers.registry import get_source_class
from tests.support.recorded import load_scenarios, mount

AUTH = {  # source -> (header, value format, provider host)
    "cloudrift": ("X-API-Key", "{key}", "api.cloudrift.ai"),
    "jarvislabs": ("Authorization", "Bearer {key}", "backendn.jarvislabs.net"),
    "seeweb": ("X-APITOKEN", "{key}", "api.seeweb.it"),
}


async def _requests(name: str, credentials: dict[str, str]) -> list[httpx.Request]:
    with respx.mock(assert_all_called=True) as router:
        routes = mount(router, load_scenarios(name)["normal"])
        async with httpx.AsyncClient(timeout=5) as http:
            result = await get_source_class(name)(http, credentials).fetch_offers()
        assert result.offers
        return [call.request for route in routes for call in route.calls]


@pytest.mark.parametrize("name", sorted(AUTH))
async def test_the_key_goes_where_the_docs_say_and_only_there(name):
    header, fmt, host = AUTH[name]
    credentials = get_source_class(name).test_credentials()
    requests = await _requests(name, credentials)
    for request in requests:
        if request.url.host == host:
            assert request.headers.get(header) == fmt.format(key=credentials["api_key"])
        else:  # the ECB rates file is public: no provider key leaves for it
            assert request.url.host == "www.ecb.europa.eu"
            assert credentials["api_key"] not in str(request.headers)


async def test_cloudrift_asks_for_vm_instance_types_in_the_versioned_envelope_without_a_key():
    (request,) = await _requests("cloudrift", {"api_key": ""})
    assert request.method == "POST" and "x-api-key" not in request.headers
    body = json.loads(request.content)
    assert body == {"version": "2025-03-21", "data": {"selector": {"ByServiceAndLocation": {"services": ["vm"]}}}}


def test_keyed_sources_are_not_configured_without_a_key():
    settings = Settings()
    for name in ("jarvislabs", "seeweb"):
        cls = get_source_class(name)
        if all(cls.credentials_from_settings(settings).values()):
            continue  # an operator key is set in this environment
        with pytest.raises(NotConfigured):
            cls.from_settings(settings, httpx.AsyncClient())
    assert get_source_class("cloudrift").from_settings(settings, httpx.AsyncClient()) is not None
