"""Injected faults, each seen through the real adapter as the typed error a real cloud would give."""

from __future__ import annotations

import time

import pytest

from providers.base import InstanceStatus as S
from providers.errors import (
    NoCapacity,
    ProviderTimeout,
    ProviderUnavailable,
    QuotaExceeded,
    RateLimited,
)
from providers.sandbox import Faults, SandboxProvider


async def test_fail_boot_ends_in_error(provider, launch, cloud, api_key, clock):
    cloud.set_faults(api_key, fail_boot=True)
    instance_id = (await launch()).instance_id
    clock.advance(20)
    failed = await provider.get_instance(instance_id)
    assert failed.status is S.FAILED and failed.raw_status == "error"


async def test_fail_boot_also_fails_a_restart_and_is_decided_at_launch(provider, launch, cloud, api_key, clock):
    healthy = (await launch(name="before")).instance_id
    cloud.set_faults(api_key, fail_boot=True)
    doomed = (await launch(name="during")).instance_id
    cloud.set_faults(api_key)  # faults off again: the boot already under way still fails
    clock.advance(20)
    assert (await provider.get_instance(healthy)).status is S.RUNNING
    assert (await provider.get_instance(doomed)).raw_status == "error"

    await provider.stop_instance(healthy)
    clock.advance(5)
    cloud.set_faults(api_key, fail_boot=True)
    await provider.start_instance(healthy)
    clock.advance(20)
    assert (await provider.get_instance(healthy)).raw_status == "error"


async def test_crash_after_seconds_of_running(provider, launch, cloud, api_key, clock):
    cloud.set_faults(api_key, crash_after_seconds=60)
    instance_id = (await launch()).instance_id
    clock.advance(20 + 59)
    assert (await provider.get_instance(instance_id)).status is S.RUNNING
    clock.advance(1)
    crashed = await provider.get_instance(instance_id)
    assert crashed.status is S.FAILED and crashed.raw_status == "crashed"

    await provider.start_instance(instance_id)  # a crashed instance can be started again
    clock.advance(20)
    assert (await provider.get_instance(instance_id)).status is S.RUNNING


async def test_preempt_spot_after_seconds_takes_back_spot_instances_only(provider, launch, cloud, api_key, clock):
    cloud.set_faults(api_key, preempt_spot_after_seconds=300)
    spot = (await launch(name="cheap", spot=True)).instance_id
    on_demand = (await launch(name="steady")).instance_id
    clock.advance(20 + 299)
    assert (await provider.get_instance(spot)).status is S.RUNNING
    clock.advance(1)
    taken = await provider.get_instance(spot)
    assert (taken.status, taken.raw_status, taken.preempted) == (S.TERMINATED, "preempted", True)
    steady = await provider.get_instance(on_demand)
    assert (steady.status, steady.preempted) == (S.RUNNING, False)
    await provider.terminate_instance(spot)  # already gone: terminating it again is a success
    assert (await provider.get_instance(spot)).raw_status == "preempted"


async def test_api_error_rate_one_fails_every_call(provider, cloud, api_key):
    cloud.set_faults(api_key, api_error_rate=1)
    for _ in range(3):
        with pytest.raises(ProviderUnavailable) as caught:
            await provider.list_instances()
        assert caught.value.retryable and caught.value.status_code == 500


async def test_api_error_rate_is_deterministic_per_seed(provider, cloud, api_key):
    async def outcomes() -> list[bool]:
        cloud.set_faults(api_key, api_error_rate=0.5, seed=7)  # also restarts the sequence
        seen = []
        for _ in range(20):
            try:
                await provider.list_instances()
                seen.append(True)
            except ProviderUnavailable:
                seen.append(False)
        return seen

    first = await outcomes()
    assert first == await outcomes()
    assert True in first and False in first


async def test_rate_limited_is_typed_with_retry_after(provider, cloud, api_key):
    cloud.set_faults(api_key, rate_limited=True, retry_after_seconds=12)
    with pytest.raises(RateLimited) as caught:
        await provider.get_instance("i-whatever")
    assert caught.value.retryable and caught.value.retry_after == 12


async def test_latency_slows_every_answer(provider, cloud, api_key):
    cloud.set_faults(api_key, latency_seconds=0.2)
    started = time.perf_counter()
    assert await provider.list_instances() == []
    assert time.perf_counter() - started >= 0.2


async def test_latency_beyond_the_client_timeout_is_a_timeout(cloud, api_key):
    impatient = SandboxProvider.on_cloud(cloud, api_key, timeout=0.05)
    cloud.set_faults(api_key, latency_seconds=5)
    started = time.perf_counter()
    with pytest.raises(ProviderTimeout):
        await impatient.list_instances()
    assert time.perf_counter() - started < 1


async def test_no_capacity_for_listed_types_only(launch, cloud, api_key):
    cloud.set_faults(api_key, no_capacity_types={"sbx.h100.8x"})
    with pytest.raises(NoCapacity) as caught:
        await launch(instance_type="sbx.h100.8x")
    assert caught.value.retryable
    assert (await launch(instance_type="sbx.h100.1x")).status is S.PROVISIONING


async def test_quota_counts_instances_that_are_not_terminated(provider, launch, cloud, api_key, clock):
    cloud.set_faults(api_key, quota=1)
    first = await launch(client_token="ch-1")
    with pytest.raises(QuotaExceeded):
        await launch(client_token="ch-2")
    assert (await launch(client_token="ch-1")).instance_id == first.instance_id  # a replay is not a new one

    await provider.terminate_instance(first.instance_id)
    clock.advance(5)
    assert (await launch(client_token="ch-3")).status is S.PROVISIONING


async def test_faults_are_per_account(cloud, api_key):
    other = SandboxProvider.on_cloud(cloud, "sbx_" + "b" * 20)
    cloud.set_faults(api_key, api_error_rate=1)
    assert await other.list_instances() == []


def test_faults_refuse_nonsense():
    with pytest.raises(ValueError):
        Faults(api_error_rate=1.5)
    with pytest.raises(ValueError):
        Faults.from_json({"fail_boot": "yes"})
    with pytest.raises(ValueError):
        Faults.from_json({"explode": True})
