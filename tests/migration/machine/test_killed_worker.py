"""The worker killed at every state boundary: after a step's effects (the target launched, the
files copied, the source stopped or deleted...) and before its completion is recorded. The jobs
then run again, as the fan-out queues them. Every run ends in done (or rolled_back, for a kill
while rolling back), no provider-side instance is left over, no second target is launched, and
the source is deleted only after the target was verified."""

from __future__ import annotations

import pytest

from app.db.models import Instance
from app.db.types import utcnow
from app.migration import jobs, machine as m
from providers.sandbox import SandboxCloud
from tests.migration.machine.support import (
    disk, pro_account, provider_instances, reload, run_until_settled, running_source, start_migration, steps,
)
from tests.migration.trees import hashes_of


class WorkerKilled(Exception):
    """Stands for SIGKILL: nothing after this point of the step runs."""


@pytest.fixture
def provider_calls(cloud: SandboxCloud, monkeypatch):
    """What the sandbox cloud was asked to do: each instance it created, and each delete with its time."""
    calls = {"created": [], "deleted": []}
    create, delete = cloud.create_instance, cloud.delete_instance

    def counting_create(api_key, body):
        instance, created = create(api_key, body)
        if created:
            calls["created"].append(instance["id"])
        return instance, created

    def timed_delete(api_key, instance_id):
        calls["deleted"].append((instance_id, utcnow()))
        return delete(api_key, instance_id)

    monkeypatch.setattr(cloud, "create_instance", counting_create)
    monkeypatch.setattr(cloud, "delete_instance", timed_delete)
    return calls


def kill_once_after(monkeypatch, boundary: str) -> list[str]:
    killed: list[str] = []

    async def before_recording(state: str, migration_id: int) -> None:
        if state == boundary and not killed:
            killed.append(state)
            raise WorkerKilled(f"killed after {state}")

    monkeypatch.setattr(jobs, "before_recording", before_recording)
    return killed


@pytest.mark.parametrize("boundary", m.STEPS)
async def test_a_worker_killed_after_any_step_resumes_and_leaks_nothing(
        boundary, sessions, keyring, http, clock, cloud, settings, queue, monkeypatch, provider_calls):
    account = await pro_account(sessions, keyring)
    source, files = await running_source(sessions, keyring, http, clock, settings, account)
    if boundary == m.ROLLING_BACK:  # the way into a rollback: the copy on the target is corrupted
        cloud.set_faults(account.api_key, checksum_mismatch=True)
    killed = kill_once_after(monkeypatch, boundary)
    migration = await start_migration(sessions, settings, account, source)

    final = await run_until_settled(settings, sessions, migration.id)

    assert killed == [boundary]
    log = await steps(sessions, migration.id)
    interrupted = [s.state for s in log if s.finished_at is None]
    assert interrupted == [boundary]  # the killed attempt stays visible, unfinished
    assert [s.state for s in log if s.outcome == "ok"] == (
        [s for s in m.STEPS if s != m.ROLLING_BACK] if boundary != m.ROLLING_BACK
        else [m.PLANNED, m.LAUNCHING_TARGET, m.WAITING_READY, m.SYNCING, m.RESTORING, m.ROLLING_BACK])
    created_by_migration = [i for i in provider_calls["created"] if i != source.provider_instance_id]
    assert len(created_by_migration) == 1  # the launch step run twice launched one target
    target = await reload(sessions, Instance, final.target_instance_id)
    assert target.provider_instance_id == created_by_migration[0]
    live = provider_instances(cloud, account)
    if boundary == m.ROLLING_BACK:
        assert final.state == m.ROLLED_BACK
        assert live == {source.provider_instance_id: "running"}
        assert [i for i, _ in provider_calls["deleted"]] == [target.provider_instance_id]
        assert hashes_of(disk(settings, source).host_path("/workspace/checkpoints")) == files
    else:
        assert final.state == m.DONE, final.error
        assert live == {target.provider_instance_id: "running"}
        source_deletes = [at for i, at in provider_calls["deleted"] if i == source.provider_instance_id]
        assert len(source_deletes) == 1 and source_deletes[0] >= final.verified_at
        assert hashes_of(disk(settings, target).host_path("/home/ubuntu/checkpoints")) == files
