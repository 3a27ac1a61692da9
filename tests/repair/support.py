"""Helpers: a running sandbox instance with auto-repair on, the job run at the sandbox clock's time."""

from __future__ import annotations

from sqlalchemy import func, select

from app.console.instances import LaunchSpec, launch
from app.console.sync import sync_binding
from app.db.models import HealthCheck, Instance, OutboxMessage, RepairAction
from app.repair.configure import configure
from app.repair.jobs import run_repair_cycle

BOOT = 20  # the sandbox's boot time (Timings().boot)


async def running_instance(sessions, keyring, http, clock, account, *, name: str = "gpu-1") -> Instance:
    row = await launch(sessions, keyring, http, account.user_id, LaunchSpec(
        binding_id=account.binding_id, name=name, instance_type="sbx.rtx4090.1x", region="sandbox-eu-1"))
    clock.advance(BOOT + 1)
    await sync_binding(sessions, keyring, http, account.binding_id, now=clock())
    row = await reload(sessions, row.id)
    assert row.status == "running"
    return row


async def watched_instance(sessions, keyring, http, clock, settings, account, *, url: str = "",
                           name: str = "gpu-1") -> Instance:
    """A running instance with auto-repair switched on through the same service as the page."""
    row = await running_instance(sessions, keyring, http, clock, account, name=name)
    await configure(sessions, settings, account.user_id, row.id, enabled=True, health_check_url=url)
    return await reload(sessions, row.id)


async def crash(cloud, clock, account, row: Instance) -> None:
    """The instance crashes at the provider (one crash: the fault is lifted once it happened)."""
    cloud.set_faults(account.api_key, crash_after_seconds=0)
    assert cloud.get_instance(account.api_key, row.provider_instance_id)["status"] == "crashed"
    cloud.set_faults(account.api_key)


async def run_cycle(sessions, keyring, http, settings, clock):
    return await run_repair_cycle(sessions, keyring, http, settings, now=clock())


async def reload(sessions, instance_id: int) -> Instance:
    async with sessions() as session:
        return await session.get(Instance, instance_id)


async def actions(sessions, instance_id: int) -> list[RepairAction]:
    async with sessions() as session:
        return list((await session.execute(select(RepairAction).where(RepairAction.instance_id == instance_id)
                                           .order_by(RepairAction.at, RepairAction.id))).scalars())


async def checks(sessions, instance_id: int) -> list[HealthCheck]:
    async with sessions() as session:
        return list((await session.execute(select(HealthCheck).where(HealthCheck.instance_id == instance_id)
                                           .order_by(HealthCheck.at, HealthCheck.id))).scalars())


async def messages(sessions, event_type: str) -> list[OutboxMessage]:
    async with sessions() as session:
        return list((await session.execute(select(OutboxMessage).where(OutboxMessage.event_type == event_type)
                                           .order_by(OutboxMessage.id))).scalars())


async def count(sessions, model) -> int:
    async with sessions() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()
