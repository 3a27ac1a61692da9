"""The rest of the console API with a token: keys verify, templates (list, get, create, change,
delete, launch), batch actions with a result per id, costs as exact decimals, price alerts and
the budget; each through the page's services, so plans, quotas and the audit log are the page's."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from app.console.sync import sync_binding
from app.costs.accrual import accrue_costs
from app.db.models import AuditEvent, Budget, CostRecord, DeploymentTemplate, Instance, PriceAlert
from app.workspaces.scope import personal_workspace_id
from tests.console.test_console_api import api, bearer, sandbox_offer_id, token_for  # noqa: F401 - fixture

API = "/api/v1/console"


async def launched(api, token, offer_id, key_id, name) -> int:
    response = await api.post(f"{API}/deployments", headers=bearer(token),
                              json={"offer_id": offer_id, "key_id": key_id, "name": name})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_keys_verify_checks_with_the_provider(api, sessions, cloud, alice, bob):
    token = await token_for(sessions, alice)
    verified = await api.post(f"{API}/keys/{alice.binding_id}/verify", headers=bearer(token))
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "verified" and alice.api_key not in verified.text
    assert (await api.post(f"{API}/keys/{bob.binding_id}/verify", headers=bearer(token))).status_code == 404
    read_only = await token_for(sessions, alice, can_write=False)
    assert (await api.post(f"{API}/keys/{alice.binding_id}/verify", headers=bearer(read_only))).status_code == 403


async def test_templates_round_trip_and_launch(api, sessions, cloud, alice):
    token = await token_for(sessions, alice)
    await sandbox_offer_id(sessions)
    created = await api.post(f"{API}/templates", headers=bearer(token), json={
        "name": "trainer", "provider": "sandbox", "instance_type": "sbx.h100.1x", "region": "sandbox-eu-1"})
    assert created.status_code == 201, created.text
    template = created.json()
    assert template["gpu"] and template["has_ssh_key"] is False
    again = await api.post(f"{API}/templates", headers=bearer(token), json={
        "name": "TRAINER", "provider": "sandbox", "instance_type": "sbx.h100.1x", "region": "sandbox-eu-1"})
    assert again.status_code == 400 and "already have a template" in again.json()["detail"]
    nowhere = await api.post(f"{API}/templates", headers=bearer(token), json={
        "name": "x", "provider": "sandbox", "instance_type": "sbx.h100.1x", "region": "mars-1"})
    assert nowhere.status_code == 400 and "no on-demand offer" in nowhere.json()["detail"]

    changed = await api.patch(f"{API}/templates/{template['id']}", headers=bearer(token),
                              json={"name": "trainer-v2", "disk_gb": 200})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["disk_gb"]) == ("trainer-v2", 200)
    bad = await api.patch(f"{API}/templates/{template['id']}", headers=bearer(token), json={"disk_gb": 1})
    assert bad.status_code == 400
    shape = await api.patch(f"{API}/templates/{template['id']}", headers=bearer(token), json={"region": "elsewhere"})
    assert shape.status_code == 400
    unchanged = await api.patch(f"{API}/templates/{template['id']}", headers=bearer(token), json={})
    assert unchanged.status_code == 200 and unchanged.json()["name"] == "trainer-v2"  # and nothing to audit
    listed = (await api.get(f"{API}/templates", headers=bearer(token))).json()
    assert [t["name"] for t in listed] == ["trainer-v2"]
    assert (await api.get(f"{API}/templates/{template['id']}", headers=bearer(token))).json()["disk_gb"] == 200

    launch = await api.post(f"{API}/templates/{template['id']}/launch", headers=bearer(token),
                            json={"key_id": alice.binding_id, "name": "from-template"})
    assert launch.status_code == 201, launch.text
    assert launch.json()["status"] == "provisioning"
    assert [i["name"] for i in cloud.list_instances(alice.api_key)] == ["from-template"]

    assert (await api.delete(f"{API}/templates/{template['id']}", headers=bearer(token))).status_code == 204
    assert (await api.get(f"{API}/templates/{template['id']}", headers=bearer(token))).status_code == 404
    async with sessions() as session:
        assert (await session.execute(select(DeploymentTemplate))).first() is None
        actions = (await session.execute(select(AuditEvent.action, AuditEvent.via).where(
            AuditEvent.action.like("template.%")).order_by(AuditEvent.seq))).all()
    via = f"api token {token[:12]}"
    assert actions == [("template.created", via), ("template.updated", via), ("template.deleted", via)]


async def test_templates_and_batch_need_the_plan_like_the_pages(api, sessions, cloud, bob):
    token = await token_for(sessions, bob)  # Bob is on Basic: templates and batch are Pro
    locked = await api.get(f"{API}/templates", headers=bearer(token))
    assert locked.status_code == 403 and locked.json()["feature"] == "templates"
    batch = await api.post(f"{API}/batch", headers=bearer(token), json={"operation": "stop", "ids": [1]})
    assert batch.status_code == 403 and batch.json()["feature"] == "batch"


async def test_batch_gives_a_result_per_id(api, sessions, keyring, http, cloud, clock, alice, bob):
    from tests.console.test_pages import deploy

    token = await token_for(sessions, alice)
    offer_id = await sandbox_offer_id(sessions)
    first = await launched(api, token, offer_id, alice.binding_id, "one")
    second = await launched(api, token, offer_id, alice.binding_id, "two")
    clock.advance(21)
    await sync_binding(sessions, keyring, http, alice.binding_id)
    stopped = await api.post(f"{API}/batch", headers=bearer(token), json={"operation": "stop", "ids": [first]})
    assert stopped.json()["results"][0]["outcome"] == "done"

    both = await api.post(f"{API}/batch", headers=bearer(token), json={"operation": "stop", "ids": [first, second]})
    assert both.status_code == 200, both.text
    assert [(r["id"], r["outcome"]) for r in both.json()["results"]] == [(first, "skipped"), (second, "done")]
    assert both.json()["failed"] == 0

    bobs = await deploy(sessions, keyring, http, bob, "bobs-box")
    foreign = await api.post(f"{API}/batch", headers=bearer(token), json={"operation": "delete", "ids": [second, bobs]})
    assert foreign.status_code == 404
    async with sessions() as session:
        assert (await session.get(Instance, second)).status == "stopping"  # nothing ran
    for body in ({"operation": "explode", "ids": [first]}, {"operation": "stop", "ids": []},
                 {"operation": "stop", "ids": [0]}, {"operation": "stop", "ids": list(range(1, 102))}):
        assert (await api.post(f"{API}/batch", headers=bearer(token), json=body)).status_code == 400, body


async def test_costs_are_exact_decimal_strings_grouped_three_ways(api, sessions, keyring, http, cloud, clock, alice):
    token = await token_for(sessions, alice)
    offer_id = await sandbox_offer_id(sessions)
    first = await launched(api, token, offer_id, alice.binding_id, "one")
    await launched(api, token, offer_id, alice.binding_id, "two")
    started = clock()
    clock.advance(21)
    await sync_binding(sessions, keyring, http, alice.binding_id)
    until = clock() + timedelta(hours=3)
    await accrue_costs(sessions, now=until)
    # The default range ends today; three hours on may be tomorrow, so the range is named.
    span = f"from={started:%Y-%m-%d}&to={until:%Y-%m-%d}"
    async with sessions() as session:
        records = (await session.execute(select(CostRecord.instance_id, CostRecord.amount))).all()
    expected = sum((amount for _, amount in records), Decimal(0))
    assert expected > 0

    body = (await api.get(f"{API}/costs?{span}", headers=bearer(token))).json()
    assert Decimal(body["total"]) == expected and body["total"] == f"{expected:.6f}"
    assert [g["key"] for g in body["by_provider"]] == ["sandbox"]
    assert sum(Decimal(g["amount"]) for g in body["by_deployment"]) == expected
    mine = sum((a for i, a in records if i == first), Decimal(0))
    assert {g["key"]: Decimal(g["amount"]) for g in body["by_deployment"]}[str(first)] == mine
    assert Decimal(body["by_gpu"][0]["amount"]) == expected

    for query in ("from=2026-13-01", "provider=nowhere", "gpu=banana", "from=2026-12-02&to=2026-12-01"):
        bad = await api.get(f"{API}/costs?{query}", headers=bearer(token))
        assert bad.status_code == 400 and bad.json()["detail"], query


async def test_alerts_and_budget(api, sessions, cloud, alice, bob):
    token = await token_for(sessions, alice)
    created = await api.post(f"{API}/alerts", headers=bearer(token), json={"gpu": "H100", "max_price": "2.50"})
    assert created.status_code == 201, created.text
    alert = created.json()
    assert (alert["gpu"], alert["max_price"], alert["market"]) == ("h100", "2.500000", "any")
    assert (await api.post(f"{API}/alerts", headers=bearer(token), json={"gpu": "H100", "max_price": "2.5"})).status_code == 400
    assert (await api.post(f"{API}/alerts", headers=bearer(token), json={"gpu": "banana", "max_price": "2"})).status_code == 400
    assert [a["id"] for a in (await api.get(f"{API}/alerts", headers=bearer(token))).json()] == [alert["id"]]
    bobs = await token_for(sessions, bob)
    assert (await api.delete(f"{API}/alerts/{alert['id']}", headers=bearer(bobs))).status_code == 404
    assert (await api.delete(f"{API}/alerts/{alert['id']}", headers=bearer(token))).status_code == 204
    async with sessions() as session:
        assert (await session.execute(select(PriceAlert))).first() is None

    assert (await api.get(f"{API}/budgets", headers=bearer(token))).json() == []
    budget = await api.post(f"{API}/budgets", headers=bearer(token), json={"monthly_amount": "1250.50"})
    assert budget.status_code == 201, budget.text
    assert budget.json()["monthly_amount"] == "1250.500000"
    assert [b["monthly_amount"] for b in (await api.get(f"{API}/budgets", headers=bearer(token))).json()] == ["1250.500000"]
    assert (await api.post(f"{API}/budgets", headers=bearer(token), json={"monthly_amount": "lots"})).status_code == 400
    hard = await api.post(f"{API}/budgets", headers=bearer(token),
                          json={"monthly_amount": "0.01", "hard_limit": True, "grace_minutes": 15})
    assert hard.status_code == 201 and (hard.json()["hard_limit"], hard.json()["grace_minutes"]) == (True, 15)
    async with sessions() as session:
        row = await session.get(Budget, await personal_workspace_id(session, alice.user_id))
        assert (row.hard_limit, row.grace_minutes) == (True, 15)
    assert (await api.post(f"{API}/budgets", headers=bearer(token),
                           json={"monthly_amount": "5", "grace_minutes": 7})).status_code == 400
    assert (await api.post(f"{API}/budgets", headers=bearer(bobs), json={"monthly_amount": "5"})).status_code == 403
    assert (await api.delete(f"{API}/budgets/monthly", headers=bearer(bobs))).status_code == 404
    assert (await api.delete(f"{API}/budgets/monthly", headers=bearer(token))).status_code == 204
    assert (await api.get(f"{API}/budgets", headers=bearer(token))).json() == []


async def test_keys_are_added_checked_and_removed_through_the_api(api, sessions, keyring, cloud, alice, bob):
    from providers.sandbox import generate_api_key

    token = await token_for(sessions, alice)
    secret = generate_api_key()
    added = await api.post(f"{API}/keys", headers=bearer(token),
                           json={"provider": "sandbox", "label": "Second", "credentials": {"api_key": secret}})
    assert added.status_code == 201, added.text
    key = added.json()
    assert (key["provider"], key["label"], key["status"]) == ("sandbox", "Second", "verified")
    assert secret not in added.text and secret[-4:] in key["masked_key"]
    listed = (await api.get(f"{API}/keys", headers=bearer(token))).json()
    assert sorted(k["label"] for k in listed) == ["Sandbox (simulated)", "Second"] and secret not in str(listed)

    # Refused before anything is stored: a taken name, an unknown provider, a key the provider does not
    # confirm (its API fails), a missing field, junk fields.
    failing = generate_api_key()
    cloud.set_faults(failing, api_error_rate=1.0)
    for body, words in (
            ({"provider": "sandbox", "label": "Second", "credentials": {"api_key": generate_api_key()}}, "already"),
            ({"provider": "nowhere", "credentials": {"api_key": "x"}}, "provider"),
            ({"provider": "sandbox", "label": "Third", "credentials": {"api_key": failing}}, "not saved"),
            ({"provider": "sandbox", "credentials": {}}, ""),
            ({"provider": "sandbox", "credentials": {"api_key": secret}, "owner": 1}, "")):
        refused = await api.post(f"{API}/keys", headers=bearer(token), json=body)
        assert refused.status_code == 400 and words in refused.json()["detail"].lower(), (body, refused.text)
    assert len((await api.get(f"{API}/keys", headers=bearer(token))).json()) == 2
    read_only = await token_for(sessions, alice, can_write=False)
    assert (await api.post(f"{API}/keys", headers=bearer(read_only), json={
        "provider": "sandbox", "credentials": {"api_key": generate_api_key()}})).status_code == 403
    # Bob's Basic plan has one key already: the plan's limit, named, and nothing stored.
    bobs = await token_for(sessions, bob)
    over = await api.post(f"{API}/keys", headers=bearer(bobs),
                          json={"provider": "sandbox", "credentials": {"api_key": generate_api_key()}})
    assert over.status_code == 403 and "plan" in over.json()["detail"].lower()

    assert (await api.delete(f"{API}/keys/{key['id']}", headers=bearer(bobs))).status_code == 404
    removed = await api.delete(f"{API}/keys/{key['id']}", headers=bearer(token))
    assert removed.status_code == 200 and removed.json() == {"id": key["id"], "deployments_left_without_key": 0}
    assert [k["label"] for k in (await api.get(f"{API}/keys", headers=bearer(token))).json()] == ["Sandbox (simulated)"]
    assert (await api.delete(f"{API}/keys/{key['id']}", headers=bearer(token))).status_code == 404
    async with sessions() as session:
        actions = (await session.execute(select(AuditEvent.action, AuditEvent.target_id).where(
            AuditEvent.action.like("key.%")).order_by(AuditEvent.at, AuditEvent.seq))).all()
    assert [a for a in actions if a[1] == str(key["id"])] == [("key.added", str(key["id"])), ("key.removed", str(key["id"]))]


async def test_a_deployment_is_saved_as_a_template_through_the_api(api, sessions, keyring, http, cloud, alice, bob):
    from tests.console.test_pages import deploy

    token = await token_for(sessions, alice)
    offer_id = await sandbox_offer_id(sessions)
    instance_id = await launched(api, token, offer_id, alice.binding_id, "box")
    saved = await api.post(f"{API}/templates/from-deployment/{instance_id}", headers=bearer(token), json={"name": "box-shape"})
    assert saved.status_code == 201, saved.text
    async with sessions() as session:
        instance = await session.get(Instance, instance_id)
        row = await session.get(DeploymentTemplate, saved.json()["id"])
        assert (row.name, row.provider, row.instance_type, row.region) == (
            "box-shape", "sandbox", instance.instance_type, instance.region)
    again = await api.post(f"{API}/templates/from-deployment/{instance_id}", headers=bearer(token), json={"name": "BOX-SHAPE"})
    assert again.status_code == 400
    bobs_box = await deploy(sessions, keyring, http, bob, "bobs-box")
    assert (await api.post(f"{API}/templates/from-deployment/{bobs_box}", headers=bearer(token),
                           json={"name": "theirs"})).status_code == 404
    assert (await api.post(f"{API}/templates/from-deployment/{instance_id}", headers=bearer(token),
                           json={"name": ""})).status_code == 400
    # Templates are Pro: Bob's Basic plan sees the lock, naming the feature.
    locked = await api.post(f"{API}/templates/from-deployment/{bobs_box}", headers=bearer(await token_for(sessions, bob)),
                            json={"name": "mine"})
    assert locked.status_code == 403 and locked.json()["feature"] == "templates"
