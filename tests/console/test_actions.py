"""Start, stop, reboot and delete through the service, and why an action is greyed out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.console.errors import ConsoleError, NotFoundForUser
from app.console.instances import LaunchSpec, available_operations, launch, perform
from app.console.sync import sync_binding
from app.db.models import Instance, InstanceEvent
from app.db.types import utcnow


def spec(account, name: str = "gpu-1") -> LaunchSpec:
    return LaunchSpec(binding_id=account.binding_id, name=name, instance_type="sbx.rtx4090.1x",
                      region="sandbox-eu-1")


async def running(sessions, keyring, http, clock, account, name: str = "gpu-1") -> Instance:
    row = await launch(sessions, keyring, http, account.user_id, spec(account, name))
    clock.advance(21)
    await sync_binding(sessions, keyring, http, account.binding_id)
    return await reload(sessions, row.id)


async def reload(sessions, instance_id: int) -> Instance:
    async with sessions() as session:
        return await session.get(Instance, instance_id)


async def test_stop_start_reboot_delete_follow_the_provider(sessions, keyring, http, cloud, clock, alice):
    row = await running(sessions, keyring, http, clock, alice)
    assert row.status == "running"

    steps = [("stop", "stopping", 6, "stopped"), ("start", "provisioning", 21, "running"),
             ("reboot", "provisioning", 11, "running"), ("delete", "terminating", 6, "terminated")]
    for operation, right_after, seconds, settled in steps:
        assert (await perform(sessions, keyring, http, alice.user_id, row.id, operation)).status == right_after
        clock.advance(seconds)
        await sync_binding(sessions, keyring, http, alice.binding_id)
        assert (await reload(sessions, row.id)).status == settled, operation

    async with sessions() as session:
        history = (await session.execute(select(InstanceEvent.status).where(InstanceEvent.instance_id == row.id)
                                         .order_by(InstanceEvent.at, InstanceEvent.id))).scalars().all()
    assert history == ["launching", "provisioning", "running", "stopping", "stopped", "provisioning", "running",
                       "provisioning", "running", "terminating", "terminated"]
    assert cloud.get_instance(alice.api_key, row.provider_instance_id)["status"] == "terminated"


async def test_actions_not_possible_now_are_refused_with_the_reason(sessions, keyring, http, cloud, clock, alice):
    row = await running(sessions, keyring, http, clock, alice)
    assert available_operations(row) == {"start": "not possible while the instance is running", "stop": None,
                                         "reboot": None, "delete": None}
    with pytest.raises(ConsoleError, match="cannot start gpu-1: not possible while the instance is running"):
        await perform(sessions, keyring, http, alice.user_id, row.id, "start")


async def test_a_launch_not_yet_confirmed_cannot_be_deleted(sessions, keyring, http, cloud, alice):
    async def stop_here(remote):
        raise RuntimeError("still in flight")

    with pytest.raises(RuntimeError):
        await launch(sessions, keyring, http, alice.user_id, spec(alice), after_provider_accepted=stop_here)
    async with sessions() as session:
        row = (await session.execute(select(Instance))).scalar_one()
    assert available_operations(row)["delete"] == "the provider has not confirmed the launch yet; wait a moment"
    with pytest.raises(ConsoleError, match="not confirmed the launch yet"):
        await perform(sessions, keyring, http, alice.user_id, row.id, "delete")


async def test_lambda_has_no_stop_or_start(sessions, alice):
    row = Instance(user_id=alice.user_id, binding_id=None, provider="lambdalabs", status="running")
    reasons = available_operations(row)
    assert reasons["stop"] == reasons["start"] == "Lambda instances cannot be stopped, only terminated; filesystems persist"
    assert reasons["reboot"] == reasons["delete"] == "no provider key is bound for this instance"


async def test_a_second_action_while_one_is_in_flight_is_refused(sessions, keyring, http, cloud, clock, alice):
    row = await running(sessions, keyring, http, clock, alice)
    async with sessions() as session, session.begin():
        await session.execute(update(Instance).where(Instance.id == row.id)
                              .values(lock_token="other-worker", lock_expires_at=utcnow() + timedelta(minutes=1)))
    with pytest.raises(ConsoleError, match="another action on this instance is still running"):
        await perform(sessions, keyring, http, alice.user_id, row.id, "stop")
    assert cloud.get_instance(alice.api_key, row.provider_instance_id)["status"] == "running"


async def test_a_provider_refusal_is_reported_and_the_claim_released(sessions, keyring, http, cloud, clock, alice):
    row = await running(sessions, keyring, http, clock, alice)
    cloud.set_faults(alice.api_key, rate_limited=True)
    with pytest.raises(ConsoleError, match="rate limiting"):
        await perform(sessions, keyring, http, alice.user_id, row.id, "stop")
    cloud.set_faults(alice.api_key)
    assert (await perform(sessions, keyring, http, alice.user_id, row.id, "stop")).status == "stopping"


async def test_another_users_instance_is_not_found(sessions, keyring, http, cloud, clock, alice, bob):
    row = await running(sessions, keyring, http, clock, alice)
    for operation in ("start", "stop", "reboot", "delete"):
        with pytest.raises(NotFoundForUser):
            await perform(sessions, keyring, http, bob.user_id, row.id, operation)
    assert cloud.get_instance(alice.api_key, row.provider_instance_id)["status"] == "running"
