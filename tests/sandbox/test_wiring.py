"""How the rest of the app reaches the sandbox: the registry, settings, the shared cloud, offers."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from app.settings import Settings, get_settings
from providers.base import InstanceStatus, LaunchRequest, Provider
from providers.gpus import resolve_gpu
from providers.registry import get_source_class, provider_names
from providers.sandbox import SandboxProvider, Timings, cloud as cloud_module, get_cloud
from providers.sandbox.client import _ERROR_CODES
from providers.sandbox.clock import ManualClock
from tests.support.recorded import FIXTURES


def no_network() -> httpx.AsyncClient:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"the sandbox must not use the caller's network client ({request.url})")

    return httpx.AsyncClient(transport=httpx.MockTransport(refuse), timeout=3)


def test_registered_as_a_simulated_provider():
    assert get_source_class("sandbox") is SandboxProvider
    assert issubclass(SandboxProvider, Provider)
    assert "sandbox" in provider_names(sandbox_enabled=True)
    assert "sandbox" not in provider_names(sandbox_enabled=False)


def test_every_raw_status_is_mapped():
    assert set(SandboxProvider.STATUS_MAP) == set(cloud_module.RAW_STATUSES)
    assert InstanceStatus.UNKNOWN not in SandboxProvider.STATUS_MAP.values()


async def test_the_pollers_path_reaches_the_shared_in_process_cloud():
    async with no_network() as http:
        source = SandboxProvider.from_settings(Settings(), http)
        result = await source.fetch_offers()
    assert result.offers and not result.skipped


async def test_a_consoles_provider_and_get_cloud_share_state():
    key = "sbx_" + "w" * 24
    async with no_network() as http:
        provider = SandboxProvider(http, {"api_key": key})
        created = await provider.create_instance(
            LaunchRequest(name="shared", instance_type="sbx.h100.1x", region="sandbox-eu-1"))
    try:
        assert get_cloud().get_instance(key, created.instance_id)["name"] == "shared"
    finally:
        get_cloud().delete_instance(key, created.instance_id)


def test_get_cloud_scales_its_timings_from_settings(monkeypatch):
    monkeypatch.setattr(cloud_module, "_default_cloud", None)
    monkeypatch.setenv("COMPUTEHUB_SANDBOX_TIME_SCALE", "0.1")
    get_settings.cache_clear()
    try:
        cloud = get_cloud()
        assert get_cloud() is cloud
        assert cloud.timings.boot == pytest.approx(2) and cloud.timings.stop == pytest.approx(0.5)
    finally:
        get_settings.cache_clear()


async def test_time_scale_zero_boots_at_once():
    cloud = cloud_module.SandboxCloud(clock=ManualClock(), timings=Timings().scaled(0))
    provider = SandboxProvider.on_cloud(cloud, "sbx_" + "z" * 20)
    created = await provider.create_instance(
        LaunchRequest(name="fast", instance_type="sbx.h100.1x", region="sandbox-eu-1"))
    assert (await provider.get_instance(created.instance_id)).status is InstanceStatus.RUNNING


async def test_offers_are_exact_and_resolve_to_the_gpu_catalog(provider):
    result = await provider.fetch_offers()
    by_key = {o.offer_key: o for o in result.offers}
    assert len(by_key) == len(result.offers)
    for offer in result.offers:
        assert offer.source == "sandbox" and isinstance(offer.price_per_hour, Decimal)
        assert resolve_gpu(offer.gpu_raw_name, offer.gpu_memory_gb) is not None, offer.gpu_raw_name
    h100 = by_key["sbx.h100.8x|sandbox-us-1|ondemand"]
    assert h100.price_per_hour == Decimal("19.92") and h100.price_per_gpu_hour == Decimal("2.49")
    assert by_key["sbx.h100.1x|sandbox-eu-1|spot"].price_per_hour == Decimal("1.29")
    assert "sbx.l40s.1x|sandbox-eu-1|ondemand" not in by_key  # sold in one region only


def _recorded_bodies() -> list:
    scenarios = json.loads((FIXTURES / "sandbox" / "lifecycle.json").read_text())["scenarios"]
    return [route["json"] for s in scenarios.values() for route in s.get("routes", []) if "json" in route]


async def test_the_recorded_sandbox_responses_have_the_live_shapes(cloud, api_key, launch):
    """tests/fixtures/sandbox/lifecycle.json is hand-written: keep it honest against the server."""
    live_keys = set(cloud.get_instance(api_key, (await launch(client_token="ch-1")).instance_id))
    known_codes = set(_ERROR_CODES) | {"rate_limited"}
    for body in _recorded_bodies():
        if "error" in body:
            assert body["error"]["code"] in known_codes
            continue
        for instance in body["data"] if "data" in body else [body]:
            if instance["status"] != "migrating":  # the unknown_status scenario, on purpose
                assert instance["status"] in cloud_module.RAW_STATUSES
            assert set(instance) == live_keys, instance["id"]

