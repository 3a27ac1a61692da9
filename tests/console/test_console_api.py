"""The console API with tokens, as a script uses it: a token made on /settings/api-tokens (shown
once) lists, launches, stops and deletes the owner's deployments through /api/v1/console; a
read-only token cannot change anything; a browser session is not enough; another user's ids are
404; revoked or expired tokens stop working; and the audit log says the token did it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from app.auth import api_tokens
from app.console.sync import sync_binding
from app.db.models import ApiToken, AuditEvent, Instance, Offer, User
from app.db.types import utcnow
from tests.console.conftest import sandbox_offers

TOKEN = re.compile(r"<code data-token[^>]*>(chk_[A-Za-z0-9_-]+)</code>")


async def make_token(browser, access: str = "write", name: str = "ci") -> str:
    response = await browser.post("/settings/api-tokens", {"name": name, "access": access, "expires": "30"})
    assert response.status_code == 200, response.text[:300]
    return TOKEN.search(response.text).group(1)


async def token_for(sessions, account, *, can_write: bool = True) -> str:
    async with sessions() as session, session.begin():
        user = await session.get(User, account.user_id)
        _row, token = await api_tokens.create_token(session, user, "script", can_write=can_write, expires_in_days=None)
    return token


def bearer(token: str) -> dict:
    return {"authorization": f"Bearer {token}"}


async def sandbox_offer_id(sessions) -> int:
    await sandbox_offers(sessions)
    async with sessions() as session:
        return (await session.execute(select(Offer.id).where(
            Offer.source == "sandbox", Offer.instance_type == "sbx.h100.1x", Offer.spot.is_(False))
            .order_by(Offer.id))).scalars().first()


@pytest.fixture
async def api(app):
    async with AsyncTestClient(app=app) as client:
        yield client


async def test_a_token_made_on_the_page_runs_a_deployment_end_to_end(
        as_alice, api, sessions, keyring, http, cloud, clock, alice):
    token = await make_token(as_alice)
    listing = await as_alice.page("/settings/api-tokens")
    assert token not in str(listing) and token[:12] in listing.one("tr", data_name="ci").text  # shown once
    offer_id = await sandbox_offer_id(sessions)

    launched = await api.post("/api/v1/console/deployments", headers=bearer(token),
                              json={"offer_id": offer_id, "key_id": alice.binding_id, "name": "from-ci"})
    assert launched.status_code == 201, launched.text
    body = launched.json()
    assert (body["name"], body["provider"], body["status"]) == ("from-ci", "sandbox", "provisioning")
    assert [i["name"] for i in cloud.list_instances(alice.api_key)] == ["from-ci"]

    clock.advance(21)
    await sync_binding(sessions, keyring, http, alice.binding_id)
    [listed] = (await api.get("/api/v1/console/deployments", headers=bearer(token))).json()
    assert listed["status"] == "running" and "stop" in listed["available_actions"]
    assert re.fullmatch(r"\d+\.\d{6}", listed["price_per_hour"])
    stopped = await api.post(f"/api/v1/console/deployments/{body['id']}/stop", headers=bearer(token))
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopping"
    deleted = await api.post(f"/api/v1/console/deployments/{body['id']}/delete", headers=bearer(token))
    assert deleted.status_code == 200 and deleted.json()["status"] == "terminating"

    keys = (await api.get("/api/v1/console/keys", headers=bearer(token))).json()
    assert [k["id"] for k in keys] == [alice.binding_id] and alice.api_key not in str(keys)
    async with sessions() as session:
        events = (await session.execute(select(AuditEvent.action, AuditEvent.via).where(
            AuditEvent.workspace == f"user:{alice.user_id}").order_by(AuditEvent.seq))).all()
    via = f"api token {token[:12]}"
    assert [(a, v) for a, v in events if a.startswith(("instance.", "api_token."))] == [
        ("api_token.created", "web"), ("instance.launch", via), ("instance.stop", via), ("instance.delete", via)]


async def test_without_a_valid_token_nothing_is_answered(as_alice, api, sessions, alice):
    anonymous = await api.get("/api/v1/console/deployments")
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in anonymous.text
    # A signed-in browser is not a token: the API takes no CSRF token, so a cookie must not do.
    session_only = await as_alice.get("/api/v1/console/deployments")
    assert session_only.status_code == 401
    for wrong in ("Bearer chk_not-a-token", "Bearer ", "Basic YWxpY2U6cHc=", "chk_" + "x" * 40):
        assert (await api.get("/api/v1/console/keys", headers={"authorization": wrong})).status_code == 401, wrong

    token = await token_for(sessions, alice)
    assert (await api.get("/api/v1/console/keys", headers=bearer(token))).status_code == 200
    async with sessions() as session, session.begin():
        await session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert (await api.get("/api/v1/console/keys", headers=bearer(token))).status_code == 401

    token = await token_for(sessions, alice)
    async with sessions() as session:
        token_id = (await session.execute(select(ApiToken.id).where(ApiToken.revoked_at.is_(None),
                                                                   ApiToken.expires_at.is_(None)))).scalar_one()
    revoked = await as_alice.post(f"/settings/api-tokens/{token_id}/revoke")
    assert revoked.status_code == 200 and "Token revoked" in revoked.text
    assert (await api.get("/api/v1/console/keys", headers=bearer(token))).status_code == 401


async def test_a_read_only_token_cannot_change_anything(api, sessions, cloud, alice):
    token = await token_for(sessions, alice, can_write=False)
    offer_id = await sandbox_offer_id(sessions)
    assert (await api.get("/api/v1/console/deployments", headers=bearer(token))).status_code == 200
    refused = await api.post("/api/v1/console/deployments", headers=bearer(token),
                             json={"offer_id": offer_id, "key_id": alice.binding_id, "name": "nope"})
    assert refused.status_code == 403 and "read-only" in refused.text
    assert cloud.list_instances(alice.api_key) == []


async def test_another_users_ids_are_404_and_change_nothing(api, sessions, keyring, http, cloud, alice, bob):
    from tests.console.test_pages import deploy

    token = await token_for(sessions, alice)
    bobs = await deploy(sessions, keyring, http, bob, "bobs-box")
    offer_id = await sandbox_offer_id(sessions)
    for method, url, body in (
            ("GET", f"/api/v1/console/deployments/{bobs}", None),
            ("POST", f"/api/v1/console/deployments/{bobs}/delete", None),
            ("POST", f"/api/v1/console/deployments/{bobs}/stop", None),
            ("POST", "/api/v1/console/deployments", {"offer_id": offer_id, "key_id": bob.binding_id, "name": "on-bobs-key"})):
        response = await api.request(method, url, headers=bearer(token), json=body)
        assert response.status_code == 404, (url, response.status_code, response.text)
        assert "bobs-box" not in response.text
    assert [i["name"] for i in cloud.list_instances(bob.api_key)] == ["bobs-box"]
    assert cloud.list_instances(alice.api_key) == []
    async with sessions() as session:
        assert (await session.get(Instance, bobs)).status == "provisioning"


@pytest.mark.parametrize("body", [
    {"offer_id": 1, "key_id": 1},                                       # no name
    {"offer_id": "one", "key_id": 1, "name": "x"},                       # not a number
    {"offer_id": 1, "key_id": 1, "name": "x", "gpus": 8},                # a field that does not exist
    {"offer_id": 2**40, "key_id": 1, "name": "x"},                       # beyond any id
    {"offer_id": 1, "key_id": 1, "name": "x", "disk_gb": 5},             # too small a disk
    [],
])
async def test_a_bad_launch_body_is_a_400_that_launches_nothing(api, sessions, cloud, alice, body):
    token = await token_for(sessions, alice)
    response = await api.post("/api/v1/console/deployments", headers=bearer(token), json=body)
    assert response.status_code == 400, response.text
    assert cloud.list_instances(alice.api_key) == []


async def test_an_unknown_operation_is_refused(api, sessions, keyring, http, cloud, alice):
    from tests.console.test_pages import deploy

    token = await token_for(sessions, alice)
    mine = await deploy(sessions, keyring, http, alice, "mine")
    response = await api.post(f"/api/v1/console/deployments/{mine}/explode", headers=bearer(token))
    assert response.status_code == 400


async def test_a_token_needs_a_name_and_a_known_expiry(as_alice, sessions):
    for form in ({"name": "", "access": "read", "expires": "30"}, {"name": "x", "access": "admin", "expires": "30"},
                 {"name": "x", "access": "read", "expires": "3"}):
        response = await as_alice.post("/settings/api-tokens", form)
        assert response.status_code == 400, form
        assert "data-new-token" not in response.text
    async with sessions() as session:
        assert (await session.execute(select(ApiToken))).first() is None


async def test_the_console_api_is_in_the_openapi_document_with_its_token_scheme(api):
    document = (await api.get("/schema/openapi.json")).json()
    assert document["components"]["securitySchemes"]["apiToken"] == {
        **document["components"]["securitySchemes"]["apiToken"], "type": "http", "scheme": "bearer"}
    paths = {p for p in document["paths"] if p.startswith("/api/v1/console")}
    assert paths == {"/api/v1/console/deployments", "/api/v1/console/deployments/{instance_id}",
                     "/api/v1/console/deployments/{instance_id}/{operation}", "/api/v1/console/keys",
                     "/api/v1/console/keys/{key_id}/verify", "/api/v1/console/keys/{key_id}",
                     "/api/v1/console/templates/from-deployment/{instance_id}", "/api/v1/console/templates",
                     "/api/v1/console/templates/{template_id}", "/api/v1/console/templates/{template_id}/launch",
                     "/api/v1/console/batch", "/api/v1/console/costs", "/api/v1/console/alerts",
                     "/api/v1/console/alerts/{alert_id}", "/api/v1/console/budgets",
                     "/api/v1/console/budgets/{budget_id}", "/api/v1/console/organization/members",
                     "/api/v1/console/organization/members/{user_id}", "/api/v1/console/organization/invitations",
                     "/api/v1/console/organization/invitations/{invitation_id}", "/api/v1/console/organization/leave",
                     "/api/v1/console/organization/transfer", "/api/v1/console/organization/two-factor", "/api/v1/console/quotas",
                     "/api/v1/console/projects", "/api/v1/console/projects/{project_id}"}
    for path in paths:
        for method, operation in document["paths"][path].items():
            assert operation.get("operationId") and operation.get("summary"), (method, path)
            assert operation["security"] == [{"apiToken": []}], (method, path)
    assert document["paths"]["/api/v1/console/keys"]["get"]["security"] == [{"apiToken": []}]
