"""``/api/v1/migrations`` with an API token: start a migration from an offer id, read it with its
steps, roll it back; Basic is refused with the plan it needs; another workspace's ids are 404."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.db.models import Migration, Offer
from app.server import create_app
from tests.console.conftest import make_account, sandbox_offers
from tests.console.test_console_api import bearer, token_for
from tests.migration.machine.support import PATHS, pro_account, run_until_settled, running_source, start_migration


@pytest.fixture
async def api(engine, sessions, settings):
    async with AsyncTestClient(app=create_app(settings, engine=engine, run_worker=False)) as client:
        yield client


async def us_offer_id(sessions) -> int:
    await sandbox_offers(sessions)
    async with sessions() as session:
        return (await session.execute(select(Offer.id).where(
            Offer.source == "sandbox", Offer.instance_type == "sbx.rtx4090.1x", Offer.region == "sandbox-us-1",
            Offer.spot.is_(False)))).scalars().first()


async def test_a_migration_started_and_followed_through_the_api(api, sessions, keyring, http, clock, cloud, settings,
                                                                queue):
    account = await pro_account(sessions, keyring)
    source, _ = await running_source(sessions, keyring, http, clock, settings, account)
    headers = bearer(await token_for(sessions, account))

    created = await api.post("/api/v1/migrations", headers=headers, json={
        "instance_id": source.id, "key_id": account.binding_id, "offer_id": await us_offer_id(sessions),
        "paths": PATHS, "rollback_window_hours": 0})
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["state"], body["target"]["region"], body["paths"]) == ("planned", "sandbox-us-1", PATHS)
    assert body["target"]["price_per_hour"] is not None and body["can_roll_back"]

    again = await api.post("/api/v1/migrations", headers=headers, json={
        "instance_id": source.id, "key_id": account.binding_id, "instance_type": "sbx.rtx4090.1x",
        "region": "sandbox-us-1"})
    assert again.status_code == 400 and "already being migrated" in again.text

    await run_until_settled(settings, sessions, body["id"])
    done = (await api.get(f"/api/v1/migrations/{body['id']}", headers=headers)).json()
    assert done["state"] == "done" and [s["state"] for s in done["steps"]][-1] == "cleaning_up"
    # A step may have looked before the target was up ("waiting", under a loaded machine); each
    # state's last attempt went through, and nothing failed or retried on the way.
    last = {s["state"]: s for s in done["steps"]}
    assert all(s["outcome"] == "ok" and s["log"] for s in last.values()), done["steps"]
    assert {s["outcome"] for s in done["steps"]} <= {"ok", "waiting"}, done["steps"]
    refused = await api.post(f"/api/v1/migrations/{body['id']}/rollback", headers=headers, json={})
    assert refused.status_code == 400 and "can no longer be rolled back" in refused.text


async def test_a_rollback_through_the_api_cancels_a_running_migration(api, sessions, keyring, http, clock, cloud,
                                                                      settings, queue):
    account = await pro_account(sessions, keyring)
    source, _ = await running_source(sessions, keyring, http, clock, settings, account)
    migration = await start_migration(sessions, settings, account, source)
    headers = bearer(await token_for(sessions, account))

    response = await api.post(f"/api/v1/migrations/{migration.id}/rollback", headers=headers,
                              json={"reason": "changed my mind"})
    assert response.status_code == 200 and response.json()["state"] == "rolling_back"
    final = await run_until_settled(settings, sessions, migration.id)
    assert final.state == "rolled_back" and final.rollback_reason == "changed my mind"
    assert final.target_instance_id is None  # cancelled before its launch: nothing was launched


async def test_basic_is_refused_with_the_plan_it_needs(api, sessions, keyring, http, clock, cloud, settings, queue):
    account = await make_account(sessions, keyring, "bea@example.com")
    source, _ = await running_source(sessions, keyring, http, clock, settings, account)
    response = await api.post("/api/v1/migrations", headers=bearer(await token_for(sessions, account)), json={
        "instance_id": source.id, "key_id": account.binding_id, "instance_type": "sbx.rtx4090.1x",
        "region": "sandbox-us-1"})
    assert response.status_code == 403 and "needs the Pro plan" in response.text
    async with sessions() as session:
        assert (await session.execute(select(Migration))).first() is None


async def test_another_workspaces_migration_and_instance_are_not_found(api, sessions, keyring, http, clock, cloud,
                                                                      settings, queue):
    owner = await pro_account(sessions, keyring)
    source, _ = await running_source(sessions, keyring, http, clock, settings, owner)
    migration = await start_migration(sessions, settings, owner, source)
    other = await pro_account(sessions, keyring, "oz@example.com")
    headers = bearer(await token_for(sessions, other))

    assert (await api.get(f"/api/v1/migrations/{migration.id}", headers=headers)).status_code == 404
    assert (await api.post(f"/api/v1/migrations/{migration.id}/rollback", headers=headers, json={})).status_code == 404
    foreign = await api.post("/api/v1/migrations", headers=headers, json={
        "instance_id": source.id, "key_id": other.binding_id, "instance_type": "sbx.rtx4090.1x",
        "region": "sandbox-us-1"})
    assert foreign.status_code == 404
    async with sessions() as session:
        assert (await session.get(Migration, migration.id)).state == "planned"  # untouched
