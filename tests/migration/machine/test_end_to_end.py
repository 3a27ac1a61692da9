"""A sandbox deployment moved between two sandbox regions by the job queue: real bytes copied
through the demo's local bucket, checked, the identity moved, the old instance kept for the
rollback window and then deleted; and the faults that roll back (launch fails, never ready,
checksum mismatch)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from app.db.models import Instance, Migration
from app.db.types import utcnow
from app.notifications.outbox import set_preference
from app.migration import machine as m
from app.migration.service import roll_back
from tests.migration.machine.support import (
    audit_actions, disk, outbox_subjects, pro_account, provider_instances, reload, run_until_settled,
    running_source, start_migration, steps,
)
from tests.migration.trees import hashes_of


async def test_a_deployment_moves_to_another_region_with_its_files(sessions, keyring, http, clock, cloud, settings,
                                                                    queue):
    account = await pro_account(sessions, keyring)
    source, files = await running_source(sessions, keyring, http, clock, settings, account)
    async with sessions() as session, session.begin():
        # Start and finish are state changes: told only to who switched those on (off by default).
        await set_preference(session, account.user_id, "deployment_state", "email", True)
        row = await session.get(Instance, source.id)
        row.health_check_url, row.auto_repair = "https://example.com/health", True

    migration = await start_migration(sessions, settings, account, source)
    final = await run_until_settled(settings, sessions, migration.id)

    assert final.state == m.DONE, final.error
    target = await reload(sessions, Instance, final.target_instance_id)
    old = await reload(sessions, Instance, source.id)
    assert hashes_of(disk(settings, target).host_path("/home/ubuntu/checkpoints")) == files
    assert (target.status, target.region, target.name) == ("running", "sandbox-us-1", "trainer")
    assert (target.health_check_url, target.auto_repair) == ("https://example.com/health", True)
    assert old.status in ("terminating", "terminated") and not old.auto_repair and old.replaced_by_id == target.id
    assert final.source_deleted_at >= final.verified_at and final.active_source_id is None
    assert provider_instances(cloud, account) == {target.provider_instance_id: "running"}
    assert [(s.state, s.outcome) for s in await steps(sessions, migration.id)] == [
        (state, "ok") for state in m.STEPS if state != m.ROLLING_BACK]
    assert await audit_actions(sessions) == ["migration.start", "migration.switch", "migration.done"]
    assert [s for s in await outbox_subjects(sessions) if "Migration" in s] == [
        "Migration of trainer started", "Migration of trainer finished"]


async def test_the_old_instance_is_kept_for_the_window_and_a_rollback_brings_it_back(
        sessions, keyring, http, clock, cloud, settings, queue):
    account = await pro_account(sessions, keyring)
    source, _ = await running_source(sessions, keyring, http, clock, settings, account)
    migration = await start_migration(sessions, settings, account, source, window=86400)

    resting = await run_until_settled(settings, sessions, migration.id)
    assert resting.state == m.CLEANING_UP and resting.rollback_until > resting.switched_at + timedelta(hours=23)
    assert (await reload(sessions, Instance, source.id)).status in ("stopping", "stopped")  # kept, not deleted

    view = await roll_back(sessions, account.user_id, migration.id)
    assert view.migration.state == m.ROLLING_BACK
    final = await run_until_settled(settings, sessions, migration.id)

    assert final.state == m.ROLLED_BACK
    old = await reload(sessions, Instance, source.id)
    target = await reload(sessions, Instance, final.target_instance_id)
    assert old.status in ("running", "provisioning") and old.replaced_by_id is None
    assert target.status in ("terminated", "terminating")
    assert set(provider_instances(cloud, account)) == {old.provider_instance_id}
    assert await audit_actions(sessions) == ["migration.start", "migration.switch", "migration.cancel",
                                             "migration.rollback"]


async def test_after_the_window_the_old_instance_is_deleted_and_rollback_is_refused(
        sessions, keyring, http, clock, cloud, settings, queue):
    from app.console.errors import ConsoleError

    account = await pro_account(sessions, keyring)
    source, _ = await running_source(sessions, keyring, http, clock, settings, account)
    migration = await start_migration(sessions, settings, account, source, window=86400)
    await run_until_settled(settings, sessions, migration.id)
    async with sessions() as session, session.begin():  # the window passed
        await session.execute(update(Migration).where(Migration.id == migration.id).values(
            rollback_until=utcnow() - timedelta(seconds=1), wake_at=None))

    final = await run_until_settled(settings, sessions, migration.id)

    assert final.state == m.DONE
    assert (await reload(sessions, Instance, source.id)).status in ("terminating", "terminated")
    with pytest.raises(ConsoleError, match="can no longer be rolled back"):
        await roll_back(sessions, account.user_id, migration.id)


async def _rolled_back_by(fault: dict, sessions, keyring, http, clock, cloud, settings):
    account = await pro_account(sessions, keyring)
    source, files = await running_source(sessions, keyring, http, clock, settings, account)
    cloud.set_faults(account.api_key, **fault)
    migration = await start_migration(sessions, settings, account, source)
    final = await run_until_settled(settings, sessions, migration.id)
    cloud.set_faults(account.api_key)
    old = await reload(sessions, Instance, source.id)
    assert final.state == m.ROLLED_BACK, [(s.state, s.outcome, s.log) for s in await steps(sessions, migration.id)]
    assert old.status == "running" and hashes_of(disk(settings, old).host_path("/workspace/checkpoints")) == files
    assert set(provider_instances(cloud, account)) == {old.provider_instance_id}  # no target left behind
    assert final.source_deleted_at is None and final.switched_at is None
    assert "Migration of trainer rolled back" in await outbox_subjects(sessions)
    return final, await steps(sessions, migration.id)


async def test_a_checksum_mismatch_rolls_back(sessions, keyring, http, clock, cloud, settings, queue):
    final, log = await _rolled_back_by({"checksum_mismatch": True}, sessions, keyring, http, clock, cloud, settings)
    assert ("verifying", "failed") in [(s.state, s.outcome) for s in log]
    assert "differ from the source" in final.error


async def test_a_launch_that_fails_rolls_back(sessions, keyring, http, clock, cloud, settings, queue):
    final, log = await _rolled_back_by({"no_capacity_types": ["sbx.rtx4090.1x"]}, sessions, keyring, http, clock,
                                       cloud, settings)
    assert [(s.state, s.outcome) for s in log][1:] == [("launching_target", "failed"), ("rolling_back", "ok")]
    assert "LaunchFailed" in final.error and "capacity" in final.error


async def test_a_target_that_never_becomes_ready_rolls_back(sessions, keyring, http, clock, cloud, settings, queue):
    final, log = await _rolled_back_by({"fail_boot": True}, sessions, keyring, http, clock, cloud, settings)
    assert ("waiting_ready", "failed") in [(s.state, s.outcome) for s in log]
    assert "TargetNeverReady" in final.error
