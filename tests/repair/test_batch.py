"""One provider key's watched instances are checked together: one list call, one verdict each,
repairs as one by one, and every guarantee of the single check (claims, skips, no-answer)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import update

from app.db.models import Instance
from app.repair.jobs import check_binding, check_unit, queue_checks
from tests.repair.support import actions, checks, crash, messages, reload, repair_audit, run_cycle, watched_instance
from tests.support.jobs import drain, job_rows, queue_for


def api_calls(cloud, clock, account) -> int:
    """The authenticated calls the sandbox account has answered since ``count_api_calls``."""
    digest = hashlib.sha256(account.api_key.encode()).hexdigest()
    with cloud.store.account(digest, clock()) as state:
        return state.state.rng_draws


def count_api_calls(cloud, account) -> None:
    # A rate this small never fails a call (seed 1's first draws are far above it); each call draws once.
    cloud.set_faults(account.api_key, api_error_rate=1e-12, seed=1)


async def three_watched(sessions, keyring, http, clock, settings, account) -> list[Instance]:
    return [await watched_instance(sessions, keyring, http, clock, settings, account, name=f"gpu-{n}")
            for n in range(3)]


async def test_one_list_call_answers_for_all_of_a_keys_instances(sessions, keyring, http, cloud, clock, settings,
                                                                 pro):
    rows = await three_watched(sessions, keyring, http, clock, settings, pro)
    count_api_calls(cloud, pro)

    report = await run_cycle(sessions, keyring, http, settings, clock)

    assert [(o.instance_id, o.verdict, o.action) for o in report.outcomes] == [(r.id, "healthy", None) for r in rows]
    assert [[c.healthy for c in await checks(sessions, r.id)] for r in rows] == [[True]] * 3
    assert api_calls(cloud, clock, pro) == 1  # one GET /v1/instances, not one GET per instance


async def test_a_crashed_instance_among_healthy_ones_is_repaired_once(sessions, keyring, http, cloud, clock,
                                                                      settings, pro):
    healthy, crashed, other = await three_watched(sessions, keyring, http, clock, settings, pro)
    await crash(cloud, clock, pro, crashed)  # the fault is lifted before the others are looked at

    report = await run_cycle(sessions, keyring, http, settings, clock)

    by_id = {o.instance_id: o for o in report.outcomes}
    assert by_id[crashed.id].action == "start"
    assert (by_id[healthy.id].verdict, by_id[other.id].verdict) == ("healthy", "healthy")
    assert [(a.attempt, a.action, a.result) for a in await actions(sessions, crashed.id)] == [(1, "start", "ok")]
    assert await actions(sessions, healthy.id) == [] and await actions(sessions, other.id) == []
    assert len(await messages(sessions, "repair")) == 1
    assert (await reload(sessions, crashed.id)).repair_state == "repairing"

    again = await run_cycle(sessions, keyring, http, settings, clock)  # backing off: no second attempt yet
    assert {o.instance_id: o.action for o in again.outcomes}[crashed.id] is None
    assert len(await actions(sessions, crashed.id)) == 1


async def test_an_instance_held_by_a_users_action_is_skipped_the_others_checked(sessions, keyring, http, cloud,
                                                                               clock, settings, pro):
    rows = await three_watched(sessions, keyring, http, clock, settings, pro)
    async with sessions() as session, session.begin():
        await session.execute(update(Instance).where(Instance.id == rows[1].id)
                              .values(lock_token="users-stop", lock_expires_at=clock() + timedelta(minutes=5)))

    report = await run_cycle(sessions, keyring, http, settings, clock)

    assert [o.skipped for o in report.outcomes] == [None, "another worker or action holds this instance", None]
    assert [len(await checks(sessions, r.id)) for r in rows] == [1, 0, 1]
    assert (await reload(sessions, rows[1].id)).lock_token == "users-stop"  # their claim is theirs
    assert [(await reload(sessions, r.id)).lock_token for r in (rows[0], rows[2])] == [None, None]


async def test_a_key_the_provider_does_not_answer_leaves_every_instance_waiting(sessions, keyring, http, cloud,
                                                                               clock, settings, pro):
    rows = await three_watched(sessions, keyring, http, clock, settings, pro)
    cloud.set_faults(pro.api_key, rate_limited=True)

    report = await run_cycle(sessions, keyring, http, settings, clock)

    assert [(o.verdict, o.action) for o in report.outcomes] == [("waiting", None)] * 3
    stored = [(await checks(sessions, r.id))[0] for r in rows]
    assert [(c.provider_status, c.healthy) for c in stored] == [("error", False)] * 3
    assert all("the provider did not answer (rate_limited)" in c.detail for c in stored)


async def test_an_instance_the_list_no_longer_shows_is_asked_for_and_found_gone(sessions, keyring, http, cloud,
                                                                               clock, settings, pro):
    rows = await three_watched(sessions, keyring, http, clock, settings, pro)
    cloud.delete_instance(pro.api_key, rows[0].provider_instance_id)
    clock.advance(5 + 600 + 1)  # terminated, then past the retention: the list and the API forget it

    report = await run_cycle(sessions, keyring, http, settings, clock)

    outcome = report.outcomes[0]
    assert (outcome.verdict, outcome.action) == ("unhealthy", "replace")
    assert (await checks(sessions, rows[0].id))[0].provider_status == "gone"
    assert [o.verdict for o in report.outcomes[1:]] == ["healthy", "healthy"]


async def test_the_fan_out_queues_one_check_unit_per_key(sessions, keyring, http, cloud, clock, settings, pro,
                                                          database_url):
    rows = await three_watched(sessions, keyring, http, clock, settings, pro)
    with queue_for(database_url) as connector:
        from app.jobs.registry import job_app

        async with job_app.open_async():
            assert await queue_checks(sessions, settings, clock()) == 1
            assert await queue_checks(sessions, settings, clock()) == 0  # still waiting: not queued twice
            queued = job_rows(database_url, connector)
            await drain(settings, sessions)
    assert [(r["task_name"], r["lock"], r["args"]) for r in queued] == [
        (check_binding.name, f"binding:{pro.binding_id}", {"binding_id": pro.binding_id})]
    assert check_unit(pro.binding_id) == f"repair:binding:{pro.binding_id}"
    assert [len(await checks(sessions, r.id)) for r in rows] == [1, 1, 1]


async def test_a_replaced_instance_whose_deletion_had_failed_is_deleted_beside_the_others_checks(
        sessions, keyring, http, cloud, clock, settings, pro):
    old, new, other = await three_watched(sessions, keyring, http, clock, settings, pro)
    async with sessions() as session, session.begin():  # as a replacement leaves it when deleting the old one failed
        await session.execute(update(Instance).where(Instance.id == old.id).values(replaced_by_id=new.id))

    report = await run_cycle(sessions, keyring, http, settings, clock)

    assert [(o.instance_id, o.action, o.result, o.verdict) for o in report.outcomes] == [
        (old.id, "delete_replaced", "ok", None), (new.id, None, None, "healthy"), (other.id, None, None, "healthy")]
    assert cloud.get_instance(pro.api_key, old.provider_instance_id)["status"] == "terminating"
    deleted = await reload(sessions, old.id)
    assert (deleted.status, deleted.auto_repair, deleted.lock_token) == ("terminating", False, None)
    assert [len(await checks(sessions, r.id)) for r in (old, new, other)] == [0, 1, 1]
    assert await repair_audit(sessions) == [("instance.delete", str(old.id), "running", "terminating")]


def test_a_check_unit_is_stopped_before_its_claims_could_expire():
    from app.console.instances import CLAIM_TTL
    from app.jobs.engine import timeout_for
    from app.jobs.registry import job_app

    assert timeout_for(job_app, check_binding.name) < CLAIM_TTL.total_seconds()
