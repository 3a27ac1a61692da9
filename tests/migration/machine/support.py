"""A running sandbox deployment with files, a migration of it, and the queue run until it ends."""

from __future__ import annotations

from sqlalchemy import select

from app.console.instances import LaunchSpec, launch
from app.console.sync import sync_binding
from app.db.models import AuditEvent, Instance, Migration, MigrationStep, OutboxMessage
from app.migration import machine as m
from app.migration.jobs import queue_due
from app.migration.service import Target, create
from providers.sandbox.disk import InstanceDisk
from tests.console.conftest import make_account
from tests.migration.trees import make_tree
from tests.support.jobs import drain

PATHS = [{"source": "/workspace/checkpoints", "target": "/home/ubuntu/checkpoints"}]


async def pro_account(sessions, keyring, email: str = "mia@example.com"):
    return await make_account(sessions, keyring, email, plan="pro")


async def running_source(sessions, keyring, http, clock, settings, account, *, name: str = "trainer"):
    row = await launch(sessions, keyring, http, account.user_id, LaunchSpec(
        binding_id=account.binding_id, name=name, instance_type="sbx.rtx4090.1x", region="sandbox-eu-1"))
    clock.advance(5)  # past the launch row's own (real) time: the sync's answer is newer
    await sync_binding(sessions, keyring, http, account.binding_id, now=clock())
    row = await reload(sessions, Instance, row.id)
    assert row.status == "running"
    files = make_tree(disk(settings, row).host_path("/workspace/checkpoints"), big_size=64 * 1024)
    return row, files


def disk(settings, row: Instance) -> InstanceDisk:
    return InstanceDisk(settings.sandbox.data_dir, row.provider_instance_id)


async def start_migration(sessions, settings, account, source: Instance, *, window: int = 0, paths=PATHS):
    view = await create(sessions, settings, account.user_id, source.id,
                        Target(account.binding_id, instance_type="sbx.rtx4090.1x", region="sandbox-us-1"),
                        paths, rollback_window_seconds=window)
    return view.migration


async def run_until_settled(settings, sessions, migration_id: int, *, rounds: int = 30) -> Migration:
    """Run the queue, then what the fan-out would queue (retries, waits, killed steps), until the
    migration rests: finished, or waiting for a time that has not come."""
    for _ in range(rounds):
        await drain(settings, sessions)
        row = await reload(sessions, Migration, migration_id)
        if row.state in m.FINAL:
            return row
        if not await queue_due(sessions):
            return row
    raise AssertionError(f"migration {migration_id} did not settle: {row.state}")


async def reload(sessions, model, row_id: int):
    async with sessions() as session:
        return await session.get(model, row_id)


async def steps(sessions, migration_id: int) -> list[MigrationStep]:
    async with sessions() as session:
        return list((await session.execute(select(MigrationStep).where(MigrationStep.migration_id == migration_id)
                                           .order_by(MigrationStep.id))).scalars())


async def audit_actions(sessions) -> list[str]:
    async with sessions() as session:
        return [a for a in (await session.execute(select(AuditEvent.action).order_by(AuditEvent.id))).scalars()
                if a.startswith("migration.")]


async def outbox_subjects(sessions) -> list[str]:
    async with sessions() as session:
        return list((await session.execute(select(OutboxMessage.subject).where(OutboxMessage.channel == "email")
                                           .order_by(OutboxMessage.id))).scalars())


def provider_instances(cloud, account) -> dict[str, str]:
    """Every instance the sandbox account has ever had: id -> status."""
    return {i["id"]: i["status"] for i in cloud.list_instances(account.api_key)}
