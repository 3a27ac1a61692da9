"""Launches never leak an instance: the intent row comes first, the reconciler finishes or fails
what a crash, a timeout or a refusal left behind, and instances made elsewhere are recorded."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.console.errors import ConsoleError
from app.console.instances import LaunchSpec, launch
from app.console.sync import LAUNCH_GRACE, sync_binding
from app.db.models import Instance, InstanceEvent
from app.db.types import utcnow
from providers.http import new_client

H100 = "sbx.h100.1x"
REGION = "sandbox-eu-1"


class WorkerDied(Exception):
    """Raised by the test hook: the process dies right after the provider accepted the launch."""


def spec(account, name: str = "gpu-1", instance_type: str = H100) -> LaunchSpec:
    return LaunchSpec(binding_id=account.binding_id, name=name, instance_type=instance_type, region=REGION,
                      gpu_slug="h100-sxm", gpu_raw_name="H100 SXM", offer_price_per_hour=None)


async def rows(sessions, user_id: int) -> list[Instance]:
    async with sessions() as session:
        result = await session.execute(select(Instance).where(Instance.user_id == user_id).order_by(Instance.id))
        return list(result.scalars())


async def events(sessions, instance_id: int) -> list[tuple[str, str | None]]:
    async with sessions() as session:
        result = await session.execute(select(InstanceEvent).where(InstanceEvent.instance_id == instance_id)
                                       .order_by(InstanceEvent.at, InstanceEvent.id))
        return [(e.status, e.message) for e in result.scalars()]


def at_sandbox(cloud, account) -> dict[str, dict]:
    return {i["id"]: i for i in cloud.list_instances(account.api_key)}


async def test_a_worker_dying_after_the_provider_accepted_leaks_nothing(sessions, keyring, http, cloud, clock, alice):
    async def die(remote):
        raise WorkerDied

    with pytest.raises(WorkerDied):
        await launch(sessions, keyring, http, alice.user_id, spec(alice), after_provider_accepted=die)

    [row] = await rows(sessions, alice.user_id)
    assert (row.status, row.provider_instance_id, row.origin) == ("launching", None, "computehub")
    [remote] = at_sandbox(cloud, alice).values()  # the provider did create it

    report = await sync_binding(sessions, keyring, http, alice.binding_id)

    assert report.adopted == 1 and report.error is None
    [row] = await rows(sessions, alice.user_id)
    assert row.origin == "adopted"
    assert row.provider_instance_id == remote["id"]
    assert row.status == "provisioning"
    assert row.provider_price_per_hour is not None and str(row.provider_price_per_hour) == "2.490000"
    # Nothing runs at the provider that the console does not know about.
    assert set(at_sandbox(cloud, alice)) == {r.provider_instance_id for r in await rows(sessions, alice.user_id)}

    clock.advance(21)  # the sandbox boots in 20 s
    await sync_binding(sessions, keyring, http, alice.binding_id)
    [row] = await rows(sessions, alice.user_id)
    assert row.status == "running"
    assert [status for status, _ in await events(sessions, row.id)] == [
        "launching", "launching", "provisioning", "running"]


async def test_a_launch_refused_for_capacity_ends_failed_with_a_clear_message(sessions, keyring, http, cloud, alice):
    cloud.set_faults(alice.api_key, no_capacity_types={H100})

    with pytest.raises(ConsoleError, match="no capacity for this offer"):
        await launch(sessions, keyring, http, alice.user_id, spec(alice))

    [row] = await rows(sessions, alice.user_id)
    assert row.status == "failed"
    assert row.last_error == "the provider has no capacity for this offer right now; try another region or offer"
    assert row.provider_instance_id is None
    assert ("failed", row.last_error) in await events(sessions, row.id)
    assert at_sandbox(cloud, alice) == {}
    # A failed launch is final: the reconciler leaves it alone.
    await sync_binding(sessions, keyring, http, alice.binding_id, now=utcnow() + LAUNCH_GRACE * 2)
    assert [r.status for r in await rows(sessions, alice.user_id)] == ["failed"]


async def slow_launch(sessions, keyring, cloud, account) -> Instance:
    """The sandbox answers after 2 s, the client gives up after 0.2 s: a timeout."""
    cloud.set_faults(account.api_key, latency_seconds=2)
    async with new_client(timeout=0.2) as impatient:
        with pytest.raises(ConsoleError, match="did not answer in time"):
            await launch(sessions, keyring, impatient, account.user_id, spec(account))
    cloud.set_faults(account.api_key)  # the provider answers again
    [row] = await rows(sessions, account.user_id)
    return row


async def test_a_launch_that_timed_out_and_never_arrived_fails_after_the_grace(sessions, keyring, http, cloud, alice):
    row = await slow_launch(sessions, keyring, cloud, alice)
    assert (row.status, row.provider_instance_id) == ("launching", None)
    assert row.last_error == "the provider did not answer in time"

    await sync_binding(sessions, keyring, http, alice.binding_id)  # too early to give up
    assert [r.status for r in await rows(sessions, alice.user_id)] == ["launching"]

    report = await sync_binding(sessions, keyring, http, alice.binding_id,
                                now=utcnow() + LAUNCH_GRACE + timedelta(minutes=1))
    assert report.failed_launches == 1
    [row] = await rows(sessions, alice.user_id)
    assert row.status == "failed"
    assert row.last_error == "the launch never reached the provider"
    assert at_sandbox(cloud, alice) == {}


async def test_a_launch_that_timed_out_but_was_created_is_adopted(sessions, keyring, http, cloud, alice):
    row = await slow_launch(sessions, keyring, cloud, alice)
    # The provider did create it; only its answer was lost on the way back.
    created, _ = cloud.create_instance(alice.api_key, {"name": row.name, "instance_type": H100, "region": REGION,
                                                       "client_token": row.client_token})

    await sync_binding(sessions, keyring, http, alice.binding_id,
                       now=utcnow() + LAUNCH_GRACE + timedelta(minutes=1))  # even after the grace

    [row] = await rows(sessions, alice.user_id)
    assert (row.origin, row.provider_instance_id, row.status) == ("adopted", created["id"], "provisioning")


async def test_an_instance_created_at_the_provider_shows_up_as_discovered(sessions, keyring, http, cloud, alice):
    made, _ = cloud.create_instance(alice.api_key, {"name": "by-hand", "instance_type": "sbx.a100.1x",
                                                    "region": "sandbox-us-1"})

    report = await sync_binding(sessions, keyring, http, alice.binding_id)

    assert report.discovered == 1
    [row] = await rows(sessions, alice.user_id)
    assert (row.origin, row.name, row.provider_instance_id, row.status) == (
        "discovered", "by-hand", made["id"], "provisioning")
    assert (row.instance_type, row.region, row.gpu_raw_name, row.gpu_count) == ("sbx.a100.1x", "sandbox-us-1", "A100 SXM", 1)
    assert str(row.provider_price_per_hour) == "1.290000"
    # Syncing again does not record it twice.
    await sync_binding(sessions, keyring, http, alice.binding_id)
    assert len(await rows(sessions, alice.user_id)) == 1


async def test_two_syncs_at_once_record_a_discovered_instance_once(sessions, keyring, http, cloud, alice):
    cloud.create_instance(alice.api_key, {"name": "by-hand", "instance_type": H100, "region": REGION})

    reports = await asyncio.gather(*(sync_binding(sessions, keyring, http, alice.binding_id) for _ in range(3)))

    assert sum(r.discovered for r in reports) == 1
    assert len(await rows(sessions, alice.user_id)) == 1


async def test_an_instance_the_provider_forgot_is_marked_terminated(sessions, keyring, http, cloud, clock, alice):
    row = await launch(sessions, keyring, http, alice.user_id, spec(alice))
    cloud.delete_instance(alice.api_key, row.provider_instance_id)  # deleted in the provider's own console
    clock.advance(seconds=5 + 600 + 1)  # terminated, then past the sandbox's retention: 404

    report = await sync_binding(sessions, keyring, http, alice.binding_id)

    assert report.gone == 1
    [row] = await rows(sessions, alice.user_id)
    assert row.status == "terminated" and row.terminated_at is not None
    assert ("terminated", "the provider no longer knows this instance") in await events(sessions, row.id)


async def test_another_users_sync_sees_only_its_own_instances(sessions, keyring, http, cloud, alice, bob):
    await launch(sessions, keyring, http, alice.user_id, spec(alice))
    await sync_binding(sessions, keyring, http, bob.binding_id)
    assert await rows(sessions, bob.user_id) == []


@pytest.fixture
def tokenless_lists(monkeypatch):
    """The sandbox as a provider whose instance list does not carry our launch token."""
    import dataclasses

    from providers.sandbox import SandboxProvider

    listed = SandboxProvider.list_instances

    async def list_instances(self):
        return [dataclasses.replace(i, client_token="") for i in await listed(self)]

    monkeypatch.setattr(SandboxProvider, "list_instances", list_instances)
    monkeypatch.setattr(SandboxProvider, "LISTS_LAUNCH_TOKENS", False)


async def test_without_tokens_in_the_list_a_missing_launch_is_unknown_not_failed(
        sessions, keyring, http, cloud, alice, tokenless_lists):
    row = await slow_launch(sessions, keyring, cloud, alice)

    report = await sync_binding(sessions, keyring, http, alice.binding_id,
                                now=utcnow() + LAUNCH_GRACE + timedelta(minutes=1))

    assert report.failed_launches == 0
    [row] = await rows(sessions, alice.user_id)
    assert (row.status, row.provider_instance_id) == ("launching", None)
    assert row.last_error.endswith("unknown, still checking")
    assert "the launch never reached the provider" not in [m for _, m in await events(sessions, row.id)]


async def test_without_tokens_in_the_list_a_created_launch_is_adopted_by_its_name(
        sessions, keyring, http, cloud, alice, tokenless_lists):
    row = await slow_launch(sessions, keyring, cloud, alice)
    created, _ = cloud.create_instance(alice.api_key, {"name": row.name, "instance_type": H100, "region": REGION,
                                                       "client_token": row.client_token})

    report = await sync_binding(sessions, keyring, http, alice.binding_id,
                                now=utcnow() + LAUNCH_GRACE + timedelta(minutes=1))

    assert (report.adopted, report.discovered, report.failed_launches) == (1, 0, 0)
    [row] = await rows(sessions, alice.user_id)
    assert (row.origin, row.provider_instance_id, row.status) == ("adopted", created["id"], "provisioning")
