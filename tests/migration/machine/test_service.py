"""The service's checks in an organization (roles through ``Scope.require``), and a step that
runs past its own time limit rolling the migration back."""

from __future__ import annotations

import pytest

from app.console.instances import LaunchSpec, launch
from app.console.sync import sync_binding
from app.migration import machine as m
from app.migration.service import Target, create, get, roll_back
from app.workspaces.roles import Forbidden
from tests.migration.machine.support import (
    pro_account, provider_instances, run_until_settled, running_source, start_migration, steps,
)
from tests.workspaces.support import org_with_every_role, scope_of


async def test_a_viewer_reads_a_migration_but_cannot_start_or_roll_one_back(sessions, keyring, http, clock, cloud,
                                                                             settings, queue):
    org = await org_with_every_role(sessions, keyring)
    owner = await scope_of(sessions, org.people["owner"], org.id)
    viewer = await scope_of(sessions, org.people["viewer"], org.id)
    row = await launch(sessions, keyring, http, owner, LaunchSpec(
        binding_id=org.binding_id, name="org-trainer", instance_type="sbx.rtx4090.1x", region="sandbox-eu-1"))
    clock.advance(5)
    await sync_binding(sessions, keyring, http, org.binding_id, now=clock())
    target = Target(org.binding_id, instance_type="sbx.rtx4090.1x", region="sandbox-us-1")

    with pytest.raises(Forbidden):
        await create(sessions, settings, viewer, row.id, target)
    started = await create(sessions, settings, owner, row.id, target, rollback_window_seconds=3600)
    assert started.migration.workspace_id == org.id
    assert (await get(sessions, viewer, started.migration.id)).migration.id == started.migration.id
    with pytest.raises(Forbidden):
        await roll_back(sessions, viewer, started.migration.id)
    assert (await get(sessions, owner, started.migration.id)).migration.state == m.PLANNED


async def test_a_step_past_its_own_time_limit_rolls_back(sessions, keyring, http, clock, cloud, settings, queue,
                                                         monkeypatch):
    account = await pro_account(sessions, keyring)
    source, _ = await running_source(sessions, keyring, http, clock, settings, account)
    migration = await start_migration(sessions, settings, account, source)
    # The provider answers slowly and waiting_ready may take a tenth of a second.
    monkeypatch.setitem(m.STEP_TIMEOUT_SECONDS, m.WAITING_READY, 0.1)
    cloud.set_faults(account.api_key, latency_seconds=0.3)
    await run_until_settled(settings, sessions, migration.id, rounds=3)
    cloud.set_faults(account.api_key)
    final = await run_until_settled(settings, sessions, migration.id)

    assert final.state == m.ROLLED_BACK and "did not finish within 0.1 s" in final.error
    assert ("waiting_ready", "timed_out") in [(s.state, s.outcome) for s in await steps(sessions, migration.id)]
    assert set(provider_instances(cloud, account)) == {source.provider_instance_id}


async def test_a_rollback_asked_for_while_a_step_runs_wins_over_that_steps_result(
        sessions, keyring, http, clock, cloud, settings, queue, monkeypatch):
    from app.db.models import Instance
    from app.migration import jobs
    from tests.migration.machine.support import reload

    account = await pro_account(sessions, keyring)
    source, _ = await running_source(sessions, keyring, http, clock, settings, account)
    migration = await start_migration(sessions, settings, account, source)

    async def user_rolls_back_meanwhile(state: str, migration_id: int) -> None:
        if state == m.RESTORING:
            await roll_back(sessions, account.user_id, migration_id, "the user pressed Roll back")

    monkeypatch.setattr(jobs, "before_recording", user_rolls_back_meanwhile)
    final = await run_until_settled(settings, sessions, migration.id)

    log = [(s.state, s.outcome) for s in await steps(sessions, migration.id)]
    assert ("restoring", "superseded") in log and ("verifying", "ok") not in log
    assert final.state == m.ROLLED_BACK and final.rollback_reason == "the user pressed Roll back"
    assert (await reload(sessions, Instance, source.id)).status == "running"
    assert set(provider_instances(cloud, account)) == {source.provider_instance_id}
