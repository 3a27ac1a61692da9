"""``/api/v1/pools`` with an API token naming the organization: create, read with nodes and events,
scale, delete; bad input is a 400 naming the field; pools need an organization on Enterprise (a
personal workspace, or an owner whose plan lapsed, is a 403 and the reconciler pauses)."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.console.api.auth import WORKSPACE_HEADER
from app.db.models import AuditEvent
from app.pools.reconcile import reconcile_pool
from app.db.types import utcnow
from tests.billing.support import lapse_organization
from tests.console.test_console_api import bearer, token_for
from tests.pools.conftest import EU, US

BODY = {"name": "trainers", "gpu": "h100", "target_nodes": 2, "max_nodes": 3, "max_price_per_gpu_hour": "2.50",
        "allowed_regions": [EU, US], "spot_policy": "on_demand"}


@pytest.fixture
async def api(app, world):
    token = await token_for(world.sessions, world.org.people["owner"])
    async with AsyncTestClient(app=app) as client:
        client.headers.update({**bearer(token), WORKSPACE_HEADER: str(world.org.id)})
        yield client


async def test_create_read_scale_and_delete_a_pool(api, world, clock):
    created = await api.post("/api/v1/pools", json=BODY)
    assert created.status_code == 201, created.text
    pool = created.json()
    assert (pool["name"], pool["target_nodes"], pool["max_price_per_gpu_hour"]) == ("trainers", 2, "2.500000")
    assert [e["kind"] for e in pool["events"]] == ["created"] and pool["nodes"] == []

    await reconcile_pool(world.ctx, pool["id"], clock())
    shown = (await api.get(f"/api/v1/pools/{pool['id']}")).json()
    assert shown["nodes_active"] == 2
    assert {(n["provider"], n["region"], n["price_per_gpu_hour"]) for n in shown["nodes"]} == {("sandbox", EU, "2.490000")}
    assert [e["kind"] for e in shown["events"]][:2] == ["launched", "launched"]
    [listed] = (await api.get("/api/v1/pools")).json()
    assert (listed["name"], listed["nodes_active"]) == ("trainers", 2)

    assert (await api.post(f"/api/v1/pools/{pool['id']}/scale", json={"target_nodes": 4})).status_code == 400  # > max
    scaled = await api.post(f"/api/v1/pools/{pool['id']}/scale", json={"target_nodes": 1})
    assert scaled.status_code == 200 and scaled.json()["target_nodes"] == 1
    async with world.sessions() as session:
        actions = list((await session.execute(select(AuditEvent.action).where(AuditEvent.target_type == "pool")
                                              .order_by(AuditEvent.id))).scalars())
    assert actions == ["pool.created", "pool.scaled"]
    clock.advance(30)
    await reconcile_pool(world.ctx, pool["id"], clock())
    assert (await api.get(f"/api/v1/pools/{pool['id']}")).json()["nodes_active"] == 1

    deleted = await api.delete(f"/api/v1/pools/{pool['id']}")
    assert deleted.status_code == 202 and deleted.json()["state"] == "deleting"
    assert (await api.post(f"/api/v1/pools/{pool['id']}/scale", json={"target_nodes": 1})).status_code == 400
    await reconcile_pool(world.ctx, pool["id"], clock())  # deletes the last node
    clock.advance(10)
    await reconcile_pool(world.ctx, pool["id"], clock())  # no node left: the pool goes
    assert (await api.get(f"/api/v1/pools/{pool['id']}")).status_code == 404
    assert await world.live_instances() == 0


@pytest.mark.parametrize("change, field", [
    ({"name": "Bad Name!"}, "name"), ({"gpu": "h9000"}, "gpu"), ({"min_nodes": 3}, "nodes"),
    ({"max_price_per_gpu_hour": "abc"}, "max_price_per_gpu_hour"), ({"max_price_per_gpu_hour": "-1"}, "max_price"),
    ({"spot_policy": "sometimes"}, "spot_policy"), ({"allowed_providers": ["aws"]}, "allowed_providers"),
    ({"health_check_url": "ftp://x"}, "health_check_url"),
])
async def test_bad_input_is_a_400_naming_the_field(api, change, field):
    response = await api.post("/api/v1/pools", json={**BODY, **change})
    assert response.status_code == 400 and field in response.json()["detail"], response.text


async def test_a_name_is_unique_in_the_workspace(api):
    assert (await api.post("/api/v1/pools", json=BODY)).status_code == 201
    again = await api.post("/api/v1/pools", json=BODY)
    assert again.status_code == 400 and "already has a pool named" in again.json()["detail"]


async def test_pools_need_an_organization_on_enterprise(api, world, clock):
    async with AsyncTestClient(app=api.app) as bare:
        token = api.headers["authorization"]
        answer = await bare.get("/api/v1/pools", headers={"authorization": token})  # the personal workspace
        assert answer.status_code == 403 and "Enterprise" in answer.json()["detail"]

    pool_id = (await api.post("/api/v1/pools", json=BODY)).json()["id"]
    # The organization's Enterprise trial lapses: its owner's own plan (Enterprise) does not count.
    await lapse_organization(world.sessions, world.org.id, min(clock(), utcnow()))
    assert (await api.get("/api/v1/pools")).status_code == 403
    report = await reconcile_pool(world.ctx, pool_id, clock())
    assert not report.ran and report.launched == [] and await world.live_instances() == 0
    assert [e.kind for e in await world.events(pool_id)] == ["created", "held"]
    await reconcile_pool(world.ctx, pool_id, clock())  # said once, not at every pass
    assert [e.kind for e in await world.events(pool_id)] == ["created", "held"]
