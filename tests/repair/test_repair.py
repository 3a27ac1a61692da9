"""Auto-repair against the sandbox: crashed, stopped and vanished instances come back by themselves."""

from __future__ import annotations

from sqlalchemy import select

from app.console.instances import perform
from app.db.models import AuditEvent
from app.repair.jobs import run_repair_cycle
from tests.repair.support import (
    BOOT, actions, checks, crash, messages, reload, repair_audit, run_cycle, running_instance, watched_instance,
)

CHECK_EVERY = 30  # seconds: the default check interval (settings.repair.check_interval_seconds)



async def test_a_crashed_instance_runs_again_within_two_checks(sessions, keyring, http, cloud, clock, settings, pro):
    assert settings.repair.check_interval_seconds == CHECK_EVERY
    row = await watched_instance(sessions, keyring, http, clock, settings, pro)
    await crash(cloud, clock, pro, row)

    first = await run_cycle(sessions, keyring, http, settings, clock)
    assert [(o.verdict, o.action, o.result) for o in first.outcomes] == [("unhealthy", "start", "ok")]
    clock.advance(CHECK_EVERY)  # longer than the sandbox's boot
    assert CHECK_EVERY > BOOT
    await run_cycle(sessions, keyring, http, settings, clock)

    row = await reload(sessions, row.id)
    assert row.status == "running"
    assert cloud.get_instance(pro.api_key, row.provider_instance_id)["status"] == "running"
    assert (row.repair_state, row.repair_attempts, row.next_repair_at) == ("ok", 0, None)
    assert [(a.attempt, a.action, a.result) for a in await actions(sessions, row.id)] == [(1, "start", "ok")]
    assert [(c.healthy, c.provider_status) for c in await checks(sessions, row.id)] == [
        (False, "failed"), (True, "running")]
    subjects = [m.subject for m in await messages(sessions, "repair")]
    assert subjects == ["Auto-repair: gpu-1 restarted (attempt 1 of 5)", "Auto-repair: gpu-1 is healthy again"]
    assert await messages(sessions, "failure") == []
    assert await repair_audit(sessions) == [("instance.start", str(row.id), "failed", "provisioning")]


async def test_an_instance_that_stopped_by_itself_is_started(sessions, keyring, http, cloud, clock, settings, pro):
    row = await watched_instance(sessions, keyring, http, clock, settings, pro)
    cloud.act(pro.api_key, row.provider_instance_id, "stop")  # at the provider, nobody asked ComputeHub
    clock.advance(10)

    await run_cycle(sessions, keyring, http, settings, clock)

    assert [(a.action, a.result) for a in await actions(sessions, row.id)] == [("start", "ok")]
    assert (await checks(sessions, row.id))[-1].detail.endswith("it stopped without anyone asking")
    assert await repair_audit(sessions) == [("instance.start", str(row.id), "stopped", "provisioning")]
    clock.advance(BOOT + 1)
    assert cloud.get_instance(pro.api_key, row.provider_instance_id)["status"] == "running"


async def test_an_instance_stopped_on_request_stays_stopped(sessions, keyring, http, cloud, clock, settings, pro):
    row = await watched_instance(sessions, keyring, http, clock, settings, pro)
    await perform(sessions, keyring, http, pro.user_id, row.id, "stop")
    clock.advance(10)

    for _ in range(3):
        await run_cycle(sessions, keyring, http, settings, clock)
        clock.advance(CHECK_EVERY)

    assert await actions(sessions, row.id) == []
    assert all(c.healthy and c.provider_status == "stopped" for c in await checks(sessions, row.id))
    assert cloud.get_instance(pro.api_key, row.provider_instance_id)["status"] == "stopped"


async def test_an_instance_gone_at_the_provider_is_replaced_from_the_same_spec(sessions, keyring, http, cloud, clock,
                                                                             settings, pro, monkeypatch):
    monkeypatch.setattr("app.repair.endpoint.resolve_host", _resolves_to("93.184.215.14"))
    row = await watched_instance(sessions, keyring, http, clock, settings, pro, url="https://gpu.example.com/health")
    cloud.delete_instance(pro.api_key, row.provider_instance_id)  # deleted behind ComputeHub's back
    clock.advance(cloud.timings.terminate + cloud.timings.retention + 1)  # and forgotten: 404 from now on

    await run_cycle(sessions, keyring, http, settings, clock)

    old = await reload(sessions, row.id)
    [replace] = await actions(sessions, row.id)
    assert (replace.attempt, replace.action, replace.result) == (1, "replace", "ok")
    assert old.replaced_by_id == replace.replacement_instance_id
    assert old.status == "terminated" and old.auto_repair is False
    new = await reload(sessions, old.replaced_by_id)
    assert (new.provider, new.binding_id, new.instance_type, new.region, new.name) == (
        "sandbox", pro.binding_id, "sbx.rtx4090.1x", "sandbox-eu-1", "gpu-1")
    assert new.provider_instance_id not in (None, old.provider_instance_id)
    assert (new.auto_repair, new.health_check_url, new.repair_state) == (
        True, "https://gpu.example.com/health", "repairing")
    # The audit log says who launched the replacement: auto-repair, not the user.
    async with sessions() as session:
        launches = (await session.execute(select(AuditEvent.target_id, AuditEvent.actor, AuditEvent.actor_user_id)
                                          .where(AuditEvent.action == "instance.launch")
                                          .order_by(AuditEvent.seq))).all()
    assert launches == [(str(row.id), pro.email, pro.user_id), (str(new.id), "auto-repair", None)]

    clock.advance(CHECK_EVERY)
    # The replacement's endpoint fails too: the simulated cloud answers for it (no connection).
    cloud.set_faults(pro.api_key, health_failing=True)
    report = await run_repair_cycle(sessions, keyring, http, settings, now=clock())
    # The old row is no longer watched; the replacement booted and is running, its endpoint now checked.
    assert [o.instance_id for o in report.outcomes] == [new.id]
    new = await reload(sessions, new.id)
    assert new.status == "running"
    assert cloud.get_instance(pro.api_key, new.provider_instance_id)["status"] == "running"
    [check] = await checks(sessions, new.id)
    assert check.endpoint_ok is False and "failed 1 of 3 checks" in check.detail


async def test_auto_repair_pauses_when_the_plan_no_longer_includes_it(sessions, keyring, http, cloud, clock,
                                                                      settings, pro):
    from sqlalchemy import delete

    from app.db.models import Subscription

    row = await watched_instance(sessions, keyring, http, clock, settings, pro)
    async with sessions() as session, session.begin():
        await session.execute(delete(Subscription).where(Subscription.user_id == pro.user_id))
    await crash(cloud, clock, pro, row)

    report = await run_cycle(sessions, keyring, http, settings, clock)

    assert report.ran and report.outcomes == []
    assert await checks(sessions, row.id) == [] and await actions(sessions, row.id) == []


async def test_an_instance_without_auto_repair_is_left_alone(sessions, keyring, http, cloud, clock, settings, pro):
    row = await running_instance(sessions, keyring, http, clock, pro)
    await crash(cloud, clock, pro, row)

    await run_cycle(sessions, keyring, http, settings, clock)

    assert await checks(sessions, row.id) == [] and await actions(sessions, row.id) == []


def _resolves_to(*addresses: str):
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve
