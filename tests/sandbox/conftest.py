"""A fresh simulated cloud per test, on a clock that only moves when the test says so."""

from __future__ import annotations

import pytest

from providers.base import Instance, LaunchRequest
from providers.sandbox import SandboxCloud, SandboxProvider, generate_api_key
from providers.sandbox.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def cloud(clock) -> SandboxCloud:
    return SandboxCloud(clock=clock)


@pytest.fixture
def api_key() -> str:
    return generate_api_key()


@pytest.fixture
def provider(cloud, api_key) -> SandboxProvider:
    return SandboxProvider.on_cloud(cloud, api_key)


@pytest.fixture
def launch(provider):
    """``await launch(spot=True, ...)``: create an instance (an H100 in sandbox-eu-1 by default)."""

    async def launch(**overrides) -> Instance:
        fields = {"name": "train-1", "instance_type": "sbx.h100.1x", "region": "sandbox-eu-1", **overrides}
        return await provider.create_instance(LaunchRequest(**fields))

    return launch
