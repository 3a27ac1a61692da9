"""The real SandboxProvider against a fresh simulated cloud: every transition, on a frozen clock."""

from __future__ import annotations

from decimal import Decimal

import pytest

from providers.base import InstanceStatus as S
from providers.errors import InvalidRequest, NotFound


async def status_of(provider, instance_id: str) -> S:
    return (await provider.get_instance(instance_id)).status


async def test_launch_boots_after_twenty_seconds(provider, launch, clock):
    created = await launch(client_token="ch-1")
    assert created.status is S.PROVISIONING and created.public_ip is None
    assert created.price_per_hour == Decimal("2.49") and created.client_token == "ch-1"
    assert created.created_at == clock()

    clock.advance(19.9)
    assert await status_of(provider, created.instance_id) is S.PROVISIONING
    clock.advance(0.1)
    running = await provider.get_instance(created.instance_id)
    assert running.status is S.RUNNING and running.raw_status == "running"
    assert running.public_ip


async def test_spot_launch_reports_the_spot_price(launch):
    created = await launch(instance_type="sbx.a100.8x", region="sandbox-us-1", spot=True)
    assert created.price_per_hour == Decimal("6.32")
    assert created.gpu_raw_name == "A100 SXM" and created.gpu_count == 8


async def test_stop_then_start(provider, launch, clock):
    instance_id = (await launch()).instance_id
    clock.advance(20)

    await provider.stop_instance(instance_id)
    assert await status_of(provider, instance_id) is S.STOPPING
    clock.advance(5)
    assert await status_of(provider, instance_id) is S.STOPPED

    await provider.start_instance(instance_id)
    assert await status_of(provider, instance_id) is S.PROVISIONING
    clock.advance(20)
    assert await status_of(provider, instance_id) is S.RUNNING


async def test_reboot_comes_back_running(provider, launch, clock):
    instance_id = (await launch()).instance_id
    clock.advance(20)
    await provider.reboot_instance(instance_id)
    rebooting = await provider.get_instance(instance_id)
    assert rebooting.raw_status == "rebooting" and rebooting.status is S.PROVISIONING
    clock.advance(10)
    assert await status_of(provider, instance_id) is S.RUNNING


async def test_transitions_due_while_nobody_looked_happen_at_their_time(provider, launch, clock):
    """Lazy: reading once after an hour gives the same answer as polling every second."""
    instance_id = (await launch()).instance_id
    clock.advance(3600)
    instance = await provider.get_instance(instance_id)
    assert instance.status is S.RUNNING


@pytest.mark.parametrize(
    "operation,when",
    [("start_instance", "running"), ("stop_instance", "provisioning"), ("reboot_instance", "stopped")],
)
async def test_action_invalid_for_the_state_is_refused(provider, launch, clock, operation, when):
    instance_id = (await launch()).instance_id
    if when != "provisioning":
        clock.advance(20)
    if when == "stopped":
        await provider.stop_instance(instance_id)
        clock.advance(5)
    with pytest.raises(InvalidRequest) as caught:
        await getattr(provider, operation)(instance_id)
    assert caught.value.status_code == 409


async def test_terminate_is_idempotent_and_the_instance_is_gone_later(provider, launch, clock):
    instance_id = (await launch()).instance_id
    clock.advance(20)

    await provider.terminate_instance(instance_id)
    await provider.terminate_instance(instance_id)  # again while terminating: fine
    assert await status_of(provider, instance_id) is S.TERMINATING
    clock.advance(5)
    assert await status_of(provider, instance_id) is S.TERMINATED
    await provider.terminate_instance(instance_id)  # already terminated: fine
    assert [i.status for i in await provider.list_instances()] == [S.TERMINATED]

    clock.advance(600)
    assert await provider.list_instances() == []
    with pytest.raises(NotFound):
        await provider.get_instance(instance_id)
    await provider.terminate_instance(instance_id)  # gone: still fine


async def test_terminate_unknown_instance_is_a_success(provider):
    await provider.terminate_instance("i-does-not-exist")


async def test_actions_on_an_unknown_instance_are_not_found(provider):
    for operation in ("get_instance", "start_instance", "stop_instance", "reboot_instance"):
        with pytest.raises(NotFound):
            await getattr(provider, operation)("i-does-not-exist")


async def test_create_is_idempotent_on_client_token(provider, launch):
    first = await launch(client_token="ch-42")
    again = await launch(client_token="ch-42")
    other = await launch(client_token="ch-43")
    assert again.instance_id == first.instance_id
    assert other.instance_id != first.instance_id
    assert {i.client_token for i in await provider.list_instances()} == {"ch-42", "ch-43"}


async def test_create_without_token_always_creates(provider, launch):
    await launch()
    await launch()
    assert len(await provider.list_instances()) == 2


@pytest.mark.parametrize(
    "overrides",
    [
        {"instance_type": "sbx.nope.1x"},
        {"region": "mars-1"},
        {"instance_type": "sbx.l40s.1x", "region": "sandbox-eu-1"},  # only sold in us-1
        {"instance_type": "sbx.l40s.1x", "region": "sandbox-us-1", "spot": True},  # no spot market
        {"name": ""},
        {"disk_gb": 5},
    ],
)
async def test_bad_launch_parameters_are_refused(launch, overrides):
    with pytest.raises(InvalidRequest) as caught:
        await launch(**overrides)
    assert caught.value.status_code == 400


async def test_list_reports_each_instance_with_its_own_status(provider, launch, clock):
    old = (await launch(name="old")).instance_id
    clock.advance(20)
    new = (await launch(name="new")).instance_id
    statuses = {i.instance_id: i.status for i in await provider.list_instances()}
    assert statuses == {old: S.RUNNING, new: S.PROVISIONING}
