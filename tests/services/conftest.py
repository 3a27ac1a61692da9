from __future__ import annotations

import dataclasses

import pytest

from app.settings import PollingSettings, ProviderKeys, Settings
from providers import registry
from tests.services import fake_sources

LAMBDA_TEST_KEY = "test-key-not-real"


@pytest.fixture
def fake_registry():
    """Only the scripted sources (plus the real Lambda adapter) are registered during the test."""
    saved = {"SOURCES": dict(registry.SOURCES), "SIMULATED": dict(getattr(registry, "SIMULATED", {}))}
    registry.SOURCES.clear()
    registry.SOURCES.update(fake_sources.REGISTRY)
    getattr(registry, "SIMULATED", {}).clear()
    registry.get_source_class.cache_clear()
    fake_sources.reset()
    yield fake_sources
    registry.SOURCES.clear()
    registry.SOURCES.update(saved["SOURCES"])
    getattr(registry, "SIMULATED", {}).update(saved["SIMULATED"])
    registry.get_source_class.cache_clear()
    fake_sources.reset()


@pytest.fixture
def settings() -> Settings:
    """Polling on, a (fake) Lambda key set; nothing read from the developer's environment matters."""
    return dataclasses.replace(
        Settings(),
        polling=PollingSettings(enabled=True, default_interval_seconds=900, timeout_seconds=5, load_snapshot=False),
        provider_keys=dataclasses.replace(ProviderKeys(), lambdalabs=LAMBDA_TEST_KEY),
    )
