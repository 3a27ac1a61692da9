"""Every console route keeps users apart: another user's instance, key or template is a 404
(exactly like a missing one), and lists never show it. The routes are read from the app, so a
new console route without a case here fails ``test_every_console_route_has_a_case``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from app.console.instances import LaunchSpec, launch
from app.console.sync import sync_binding
from app.auth import api_tokens
from app.db.models import (ApiToken, DeploymentTemplate, Instance, Migration, Offer, PriceAlert, Project, ProjectMember,
                           ProviderBinding, User, Workspace, WorkspaceInvitation, WorkspaceMember)
from app.migration import service as migration_service
from app.notifications import alerts, budgets
from app.settings import Settings
from app.pools import service as pool_service
from app.pools.spec import PoolSpec
from app.security.keyring import binding_aad, workspace_binding_aad
from app.workspaces import invitations, organizations, projects
from providers.sandbox import generate_api_key
from app.db.types import utcnow
from app.workspaces import personal_workspace_id
from tests.billing.support import grant
from tests.console.conftest import Browser, sandbox_offers

PREFIXES = ("/console", "/settings/providers", "/settings/activity", "/settings/api-tokens", "/costs", "/api/v1/console",
            "/workspaces")
API = "/api/v1/console"
BOBS = ("bobs-secret-box", "Bob's template", "Bob's key", "Bob's org", "Bob's project", "bobs-secret-pool")


@dataclass
class World:
    alice: Browser
    alice_instance: int
    alice_template: int
    alice_binding: int
    bob_instance: int
    bob_template: int
    bob_binding: int
    offer: int
    bob_token: int = 0
    alice_api_token: str = ""
    bob_alert: int = 0
    bob_org: int = 0
    bob_invitation: int = 0
    bob_project: int = 0
    bob_migration: int = 0
    bob_pool: int = 0


async def check_404(response) -> None:
    assert response.status_code == 404, (response.request.url, response.status_code, response.text[:300])
    for secret in BOBS:
        assert secret not in response.text


async def check_no_leak(response) -> None:
    assert response.status_code < 500, (response.request.url, response.status_code)
    for secret in BOBS:
        assert secret not in response.text, (response.request.url, secret)


Case = Callable[[World], Awaitable[None]]


def this_month() -> str:
    return utcnow().strftime("%Y-%m")


def api(method: str, url: Callable[[World], str], check, body: dict | None = None) -> Case:
    """Alice's write token on the console API (the API takes no session)."""
    async def case(w: World) -> None:
        await check(await w.alice.client.request(method, url(w), json=body,
                                                 headers={"authorization": f"Bearer {w.alice_api_token}"}))
    return case


async def api_each_operation(w: World) -> None:
    for operation in ("start", "stop", "reboot", "delete"):
        await api("POST", lambda w: f"{API}/deployments/{w.bob_instance}/{operation}", check_404)(w)


async def api_batch_with_a_foreign_id(w: World) -> None:
    for operation in ("start", "stop", "reboot", "delete"):
        await api("POST", lambda w: f"{API}/batch", check_404,
                  {"operation": operation, "ids": [w.alice_instance, w.bob_instance]})(w)


async def api_template_launches(w: World) -> None:
    await api("POST", lambda w: f"{API}/templates/{w.bob_template}/launch", check_404,
              {"name": "x-1", "key_id": w.alice_binding})(w)
    await api("POST", lambda w: f"{API}/templates/{w.alice_template}/launch", check_404,
              {"name": "x-2", "key_id": w.bob_binding})(w)


async def api_launch_with_a_foreign_key(w: World) -> None:
    await api("POST", lambda w: f"{API}/deployments", check_404,
              {"offer_id": w.offer, "key_id": w.bob_binding, "name": "stolen-key"})(w)


async def api_lists_only_own(w: World) -> None:
    for path in ("deployments", "keys", "templates", "alerts", "budgets", "quotas", "costs", "projects"):
        response = await w.alice.client.get(f"{API}/{path}", headers={"authorization": f"Bearer {w.alice_api_token}"})
        assert response.status_code == 200, (path, response.text[:300])
        await check_no_leak(response)


def get(url: Callable[[World], str], check) -> Case:
    async def case(w: World) -> None:
        await check(await w.alice.get(url(w)))
    return case


def post(url: Callable[[World], str], check, data: dict | None = None) -> Case:
    async def case(w: World) -> None:
        await check(await w.alice.post(url(w), data))
    return case


async def each_operation(w: World) -> None:
    for operation in ("start", "stop", "reboot", "delete"):
        await check_404(await w.alice.post(f"/console/instances/{w.bob_instance}/actions/{operation}",
                                           {"confirm": "yes"}))


async def batch_with_a_foreign_id(w: World) -> None:
    for operation in ("start", "stop", "delete"):
        await check_404(await w.alice.get(
            f"/console/batch?op={operation}&id={w.alice_instance}&id={w.bob_instance}"))
        await check_404(await w.alice.post("/console/batch", [
            ("op", operation), ("id", str(w.alice_instance)), ("id", str(w.bob_instance))]))


async def launch_with_a_foreign_key(w: World) -> None:
    await check_404(await w.alice.post("/console/launch", {"offer": w.offer, "binding_id": w.bob_binding,
                                                           "name": "stolen-key"}))


async def template_launches(w: World) -> None:
    # Bob's template on Alice's key, and Alice's template on Bob's key.
    await check_404(await w.alice.post(f"/console/templates/{w.bob_template}/launch",
                                       {"name": "x-1", "binding_id": w.alice_binding}))
    await check_404(await w.alice.post(f"/console/templates/{w.alice_template}/launch",
                                       {"name": "x-2", "binding_id": w.bob_binding}))


async def launch_page_lists_only_own_keys(w: World) -> None:
    response = await w.alice.get(f"/console/launch?offer={w.offer}")
    await check_no_leak(response)
    assert f'value="{w.bob_binding}"' not in response.text and f'value="{w.alice_binding}"' in response.text


async def poll_without_foreign_ids(w: World) -> None:
    response = await w.alice.post("/console/poll")
    ids = {int(part.split(":")[0]) for part in response.json()["fingerprint"].split(";") if part}
    assert ids == {w.alice_instance}


async def switch_to_bobs_org(w: World) -> None:
    await check_404(await w.alice.post("/workspaces/switch", {"workspace_id": w.bob_org}))
    assert "alices-box" in (await w.alice.get("/console")).text  # still in her own workspace


def api_in_bobs_org(method: str, path: str, body: dict | None = None) -> Case:
    """Alice's token naming Bob's organization in the workspace header: a 404, like a missing one."""
    async def case(w: World) -> None:
        url = path.replace("{invitation_id:int}", str(w.bob_invitation)).replace("{user_id:int}", str(w.bob_org))
        await check_404(await w.alice.client.request(method, url, json=body, headers={
            "authorization": f"Bearer {w.alice_api_token}", "x-computehub-workspace": str(w.bob_org)}))
    return case


def bobs_org(path: str) -> Callable[[World], str]:
    return lambda w: (path.replace("{workspace_id:int}", str(w.bob_org)).replace("{user_id:int}", str(w.bob_org))
                      .replace("{project_id:int}", str(w.bob_project)))


async def bobs_project_from_alices_workspace(w: World) -> None:
    """Bob's project id, sent where Alice acts in her own workspace: a 404, never taken."""
    await check_404(await w.alice.post(f"/console/instances/{w.alice_instance}/project", {"project_id": w.bob_project}))
    await check_404(await w.alice.post(f"/console/launch", {"offer": w.offer, "binding_id": w.alice_binding,
                                                           "name": "in-bobs-project", "project_id": w.bob_project}))


async def api_bobs_project(w: World) -> None:
    await api("PATCH", lambda w: f"{API}/deployments/{w.bob_instance}", check_404, {"project_id": None})(w)
    await api("PATCH", lambda w: f"{API}/deployments/{w.alice_instance}", check_404, {"project_id": w.bob_project})(w)
    await api("GET", lambda w: f"{API}/deployments?project={w.bob_project}", check_404)(w)
    await api("POST", lambda w: f"{API}/deployments", check_404, {"offer_id": w.offer, "key_id": w.alice_binding,
                                                                 "name": "in-bobs", "project_id": w.bob_project})(w)


async def migration_preview_with_foreign_ids(w: World) -> None:
    """Bob's instance, or Alice's with Bob's key: a 404 either way."""
    await check_404(await w.alice.get(f"/console/instances/{w.bob_instance}/migrate/preview?offer={w.offer}"))
    await check_404(await w.alice.get(f"/console/instances/{w.alice_instance}/migrate/preview?offer={w.offer}"
                                      f"&key={w.bob_binding}"))


async def migration_start_with_foreign_ids(w: World) -> None:
    await check_404(await w.alice.post(f"/console/instances/{w.bob_instance}/migrate", {"offer": w.offer}))
    await check_404(await w.alice.post(f"/console/instances/{w.alice_instance}/migrate",
                                       {"offer": w.offer, "key": w.bob_binding}))


ORG = "/workspaces/{workspace_id:int}"
CASES: dict[tuple[str, str], Case] = {
    ("GET", "/workspaces"): get(lambda w: "/workspaces", check_no_leak),
    ("POST", "/workspaces"): post(lambda w: "/workspaces", check_no_leak, {"name": "Alice's org"}),
    ("POST", "/workspaces/switch"): switch_to_bobs_org,
    ("GET", ORG): get(bobs_org(ORG), check_404),
    ("POST", f"{ORG}/rename"): post(bobs_org(f"{ORG}/rename"), check_404, {"name": "mine"}),
    ("POST", f"{ORG}/delete"): post(bobs_org(f"{ORG}/delete"), check_404, {"confirm": "yes"}),
    ("POST", f"{ORG}/transfer"): post(bobs_org(f"{ORG}/transfer"), check_404, {"user_id": "1"}),
    ("POST", f"{ORG}/leave"): post(bobs_org(f"{ORG}/leave"), check_404),
    ("POST", f"{ORG}/members"): post(bobs_org(f"{ORG}/members"), check_404,
                                     {"email": "alice@example.com", "role": "admin"}),
    ("POST", f"{ORG}/members/{{user_id:int}}/role"): post(bobs_org(f"{ORG}/members/{{user_id:int}}/role"),
                                                          check_404, {"role": "admin"}),
    ("POST", f"{ORG}/members/{{user_id:int}}/remove"): post(bobs_org(f"{ORG}/members/{{user_id:int}}/remove"),
                                                            check_404),
    ("POST", f"{ORG}/invitations"): post(bobs_org(f"{ORG}/invitations"), check_404,
                                         {"email": "carol@example.com", "role": "admin"}),
    ("POST", f"{ORG}/invitations/{{invitation_id:int}}/revoke"):
        post(lambda w: f"/workspaces/{w.bob_org}/invitations/{w.bob_invitation}/revoke", check_404),
    ("POST", f"{ORG}/two-factor"): post(bobs_org(f"{ORG}/two-factor"), check_404, {"require": "on"}),
    ("POST", "/workspaces/personal"): post(lambda w: "/workspaces/personal", check_no_leak),
    ("GET", f"{ORG}/billing"): get(bobs_org(f"{ORG}/billing"), check_404),
    ("POST", f"{ORG}/billing/subscribe"): post(bobs_org(f"{ORG}/billing/subscribe"), check_404),
    ("POST", f"{ORG}/billing/cancel"): post(bobs_org(f"{ORG}/billing/cancel"), check_404),
    ("POST", f"{ORG}/billing/resume"): post(bobs_org(f"{ORG}/billing/resume"), check_404),
    ("POST", f"{ORG}/billing/payment-methods"): post(bobs_org(f"{ORG}/billing/payment-methods"), check_404),
    ("GET", f"{API}/organization/members"): api_in_bobs_org("GET", f"{API}/organization/members"),
    ("GET", f"{API}/organization/invitations"): api_in_bobs_org("GET", f"{API}/organization/invitations"),
    ("POST", f"{API}/organization/invitations"):
        api_in_bobs_org("POST", f"{API}/organization/invitations", {"email": "carol@example.com", "role": "admin"}),
    ("DELETE", f"{API}/organization/invitations/{{invitation_id:int}}"):
        api_in_bobs_org("DELETE", f"{API}/organization/invitations/{{invitation_id:int}}"),
    ("DELETE", f"{API}/organization/members/{{user_id:int}}"):
        api_in_bobs_org("DELETE", f"{API}/organization/members/{{user_id:int}}"),
    ("POST", f"{API}/organization/leave"): api_in_bobs_org("POST", f"{API}/organization/leave"),
    ("POST", f"{API}/organization/transfer"): api_in_bobs_org("POST", f"{API}/organization/transfer", {"user_id": 1}),
    ("PUT", f"{API}/organization/two-factor"):
        api_in_bobs_org("PUT", f"{API}/organization/two-factor", {"require_two_factor": False}),
    ("GET", f"{ORG}/projects"): get(bobs_org(f"{ORG}/projects"), check_404),
    ("POST", f"{ORG}/projects"): post(bobs_org(f"{ORG}/projects"), check_404, {"name": "mine"}),
    ("POST", f"{ORG}/projects/{{project_id:int}}/rename"):
        post(bobs_org(f"{ORG}/projects/{{project_id:int}}/rename"), check_404, {"name": "mine"}),
    ("POST", f"{ORG}/projects/{{project_id:int}}/delete"):
        post(bobs_org(f"{ORG}/projects/{{project_id:int}}/delete"), check_404),
    ("POST", f"{ORG}/projects/{{project_id:int}}/members"):
        post(bobs_org(f"{ORG}/projects/{{project_id:int}}/members"), check_404, {"user_id": "1"}),
    ("POST", "/console/instances/{instance_id:int}/project"): bobs_project_from_alices_workspace,
    ("GET", "/console"): get(lambda w: "/console", check_no_leak),
    ("POST", "/console/sync"): post(lambda w: "/console/sync", check_no_leak),
    ("POST", "/console/poll"): poll_without_foreign_ids,
    ("GET", "/console/overview"): get(lambda w: "/console/overview", check_no_leak),
    ("GET", "/console/history"): get(lambda w: "/console/history?provider=sandbox", check_no_leak),
    ("GET", "/console/pools"): get(lambda w: "/console/pools", check_no_leak),
    ("GET", "/console/pools/{pool_id:int}"): get(lambda w: f"/console/pools/{w.bob_pool}", check_404),
    ("GET", "/costs"): get(lambda w: "/costs", check_no_leak),
    ("GET", "/settings/activity"): get(lambda w: "/settings/activity", check_no_leak),
    ("GET", "/settings/api-tokens"): get(lambda w: "/settings/api-tokens", check_no_leak),
    ("POST", "/settings/api-tokens"): post(lambda w: "/settings/api-tokens", check_no_leak,
                                           {"name": "mine", "access": "read", "expires": "30"}),
    ("POST", "/settings/api-tokens/{token_id:str}/revoke"):
        post(lambda w: f"/settings/api-tokens/{w.bob_token}/revoke", check_404),
    ("GET", "/settings/activity/export.csv"): get(lambda w: "/settings/activity/export.csv", check_no_leak),
    ("GET", "/costs/export.csv"): get(lambda w: "/costs/export.csv", check_no_leak),
    ("GET", "/costs/statements"): get(lambda w: "/costs/statements", check_no_leak),
    ("GET", "/costs/statements/{month:str}"): get(lambda w: f"/costs/statements/{this_month()}", check_no_leak),
    ("GET", "/costs/statements/{month:str}/statement.csv"):
        get(lambda w: f"/costs/statements/{this_month()}/statement.csv", check_no_leak),
    ("GET", "/costs/statements/{month:str}/statement.pdf"):
        get(lambda w: f"/costs/statements/{this_month()}/statement.pdf", check_no_leak),
    ("GET", "/console/instances/{instance_id:int}"): get(lambda w: f"/console/instances/{w.bob_instance}", check_404),
    ("GET", "/console/instances/{instance_id:int}/confirm/{operation:str}"):
        get(lambda w: f"/console/instances/{w.bob_instance}/confirm/delete", check_404),
    ("POST", "/console/instances/{instance_id:int}/actions/{operation:str}"): each_operation,
    ("POST", "/console/instances/{instance_id:int}/auto-repair"):
        post(lambda w: f"/console/instances/{w.bob_instance}/auto-repair", check_404,
             {"auto_repair": "on", "health_check_url": "http://198.51.100.9/health"}),
    ("GET", "/console/batch"): batch_with_a_foreign_id,
    ("POST", "/console/batch"): batch_with_a_foreign_id,
    ("GET", "/console/launch"): launch_page_lists_only_own_keys,
    ("POST", "/console/launch"): launch_with_a_foreign_key,
    ("GET", "/console/templates"): get(lambda w: "/console/templates", check_no_leak),
    ("POST", "/console/templates"): post(lambda w: "/console/templates", check_no_leak, {"name": "mine"}),
    ("POST", "/console/templates/from-instance/{instance_id:int}"):
        post(lambda w: f"/console/templates/from-instance/{w.bob_instance}", check_404, {"name": "t"}),
    ("POST", "/console/templates/{template_id:int}/launch"): template_launches,
    ("POST", "/console/templates/{template_id:int}/delete"):
        post(lambda w: f"/console/templates/{w.bob_template}/delete", check_404),
    ("GET", f"{API}/deployments"): api_lists_only_own,
    ("GET", f"{API}/projects"): api_lists_only_own,
    ("POST", f"{API}/projects"): api("POST", lambda w: f"{API}/projects", check_no_leak, {"name": "mine"}),
    ("PATCH", f"{API}/projects/{{project_id:int}}"):
        api("PATCH", lambda w: f"{API}/projects/{w.bob_project}", check_404, {"name": "mine now"}),
    ("DELETE", f"{API}/projects/{{project_id:int}}"):
        api("DELETE", lambda w: f"{API}/projects/{w.bob_project}", check_404),
    ("PATCH", f"{API}/deployments/{{instance_id:int}}"): api_bobs_project,
    ("GET", f"{API}/keys"): api_lists_only_own,
    ("GET", f"{API}/templates"): api_lists_only_own,
    ("GET", f"{API}/alerts"): api_lists_only_own,
    ("GET", f"{API}/budgets"): api_lists_only_own,
    ("GET", f"{API}/costs"): api_lists_only_own,
    ("GET", f"{API}/deployments/{{instance_id:int}}"): api("GET", lambda w: f"{API}/deployments/{w.bob_instance}", check_404),
    ("POST", f"{API}/deployments"): api_launch_with_a_foreign_key,
    ("POST", f"{API}/deployments/{{instance_id:int}}/{{operation:str}}"): api_each_operation,
    ("POST", f"{API}/keys/{{key_id:int}}/verify"): api("POST", lambda w: f"{API}/keys/{w.bob_binding}/verify", check_404),
    ("POST", f"{API}/keys"): api("POST", lambda w: f"{API}/keys", check_no_leak,
                                 {"provider": "sandbox", "label": "Alice two", "credentials": {"api_key": generate_api_key()}}),
    ("DELETE", f"{API}/keys/{{key_id:int}}"): api("DELETE", lambda w: f"{API}/keys/{w.bob_binding}", check_404),
    ("POST", f"{API}/templates/from-deployment/{{instance_id:int}}"):
        api("POST", lambda w: f"{API}/templates/from-deployment/{w.bob_instance}", check_404, {"name": "stolen"}),
    ("POST", f"{API}/batch"): api_batch_with_a_foreign_id,
    ("POST", f"{API}/templates"): api("POST", lambda w: f"{API}/templates", check_no_leak,
                                      {"name": "mine", "provider": "sandbox", "instance_type": "sbx.h100.1x",
                                       "region": "sandbox-eu-1"}),
    ("GET", f"{API}/templates/{{template_id:int}}"): api("GET", lambda w: f"{API}/templates/{w.bob_template}", check_404),
    ("PATCH", f"{API}/templates/{{template_id:int}}"):
        api("PATCH", lambda w: f"{API}/templates/{w.bob_template}", check_404, {"name": "mine now"}),
    ("DELETE", f"{API}/templates/{{template_id:int}}"):
        api("DELETE", lambda w: f"{API}/templates/{w.bob_template}", check_404),
    ("POST", f"{API}/templates/{{template_id:int}}/launch"): api_template_launches,
    ("POST", f"{API}/alerts"): api("POST", lambda w: f"{API}/alerts", check_no_leak, {"gpu": "A100", "max_price": "1"}),
    ("DELETE", f"{API}/alerts/{{alert_id:int}}"): api("DELETE", lambda w: f"{API}/alerts/{w.bob_alert}", check_404),
    ("POST", f"{API}/budgets"): api("POST", lambda w: f"{API}/budgets", check_no_leak, {"monthly_amount": "10"}),
    # Bob has a budget, Alice none: "monthly" is always the caller's own, so this is a 404.
    ("DELETE", f"{API}/budgets/{{budget_id:str}}"): api("DELETE", lambda w: f"{API}/budgets/monthly", check_404),
    ("GET", f"{API}/quotas"): api_lists_only_own,
    ("PUT", f"{API}/quotas"): api("PUT", lambda w: f"{API}/quotas", check_no_leak, {"max_running_instances": 5}),
    ("GET", "/console/budget"): get(lambda w: "/console/budget", check_no_leak),
    ("POST", "/console/budget"): post(lambda w: "/console/budget", check_no_leak, {"monthly_budget": "10"}),
    ("POST", "/console/budget/quotas"): post(lambda w: "/console/budget/quotas", check_no_leak, {"max_gpus": "3"}),
    ("GET", "/console/migrations"): get(lambda w: "/console/migrations", check_no_leak),
    ("GET", "/console/migrate"): get(lambda w: f"/console/migrate?offer={w.offer}", check_no_leak),
    ("GET", "/console/instances/{instance_id:int}/migrate"):
        get(lambda w: f"/console/instances/{w.bob_instance}/migrate", check_404),
    ("GET", "/console/instances/{instance_id:int}/migrate/preview"): migration_preview_with_foreign_ids,
    ("POST", "/console/instances/{instance_id:int}/migrate"): migration_start_with_foreign_ids,
    ("GET", "/console/migrations/{migration_id:int}"): get(lambda w: f"/console/migrations/{w.bob_migration}", check_404),
    ("GET", "/console/migrations/{migration_id:int}/status"):
        get(lambda w: f"/console/migrations/{w.bob_migration}/status", check_404),
    ("POST", "/console/migrations/{migration_id:int}/rollback"):
        post(lambda w: f"/console/migrations/{w.bob_migration}/rollback", check_404, {"action": "cancel"}),
    ("GET", "/settings/providers"): get(lambda w: "/settings/providers", check_no_leak),
    ("GET", "/settings/providers/new"): get(lambda w: "/settings/providers/new", check_no_leak),
    ("POST", "/settings/providers"): post(lambda w: "/settings/providers", check_no_leak, {"provider": "sandbox"}),
    ("POST", "/settings/providers/{binding_id:int}/verify"):
        post(lambda w: f"/settings/providers/{w.bob_binding}/verify", check_404),
    ("POST", "/settings/providers/{binding_id:int}/rename"):
        post(lambda w: f"/settings/providers/{w.bob_binding}/rename", check_404, {"label": "mine now"}),
    ("POST", "/settings/providers/{binding_id:int}/project"):
        post(lambda w: f"/settings/providers/{w.bob_binding}/project", check_404, {"workspace_project": ""}),
    ("GET", "/settings/providers/{binding_id:int}/remove"):
        get(lambda w: f"/settings/providers/{w.bob_binding}/remove", check_404),
    ("POST", "/settings/providers/{binding_id:int}/remove"):
        post(lambda w: f"/settings/providers/{w.bob_binding}/remove", check_404, {"confirm": "yes"}),
}


def console_routes(app) -> set[tuple[str, str]]:
    found = set()
    for route in app.routes:
        if not route.path.startswith(PREFIXES):
            continue
        for handler in getattr(route, "route_handlers", ()):
            found |= {(method, route.path) for method in handler.http_methods if method not in ("OPTIONS", "HEAD")}
    return found


def test_every_console_route_has_a_case(app):
    routes = console_routes(app)
    assert routes, "no console routes found"
    assert routes - CASES.keys() == set(), "a console route has no owner-scoping case below"
    assert CASES.keys() - routes == set(), "a case below names a route that no longer exists"


async def build_world(sessions, keyring, http, alice, bob, as_alice) -> World:
    await sandbox_offers(sessions)
    instances = {}
    for account, name in ((alice, "alices-box"), (bob, BOBS[0])):
        row = await launch(sessions, keyring, http, account.user_id, LaunchSpec(
            binding_id=account.binding_id, name=name, instance_type="sbx.h100.1x", region="sandbox-eu-1"))
        instances[account.user_id] = row.id
    templates = {}
    async with sessions() as session, session.begin():
        for account, name in ((alice, "Alice's template"), (bob, BOBS[1])):
            row = DeploymentTemplate(workspace_id=await personal_workspace_id(session, account.user_id),
                                     user_id=account.user_id, name=name, provider="sandbox",
                                     instance_type="sbx.h100.1x", region="sandbox-eu-1", created_at=utcnow())
            session.add(row)
            await session.flush()
            templates[account.user_id] = row.id
        (await session.get(ProviderBinding, bob.binding_id)).label = BOBS[2]
        offer = (await session.execute(select(Offer.id).where(Offer.source == "sandbox"))).scalars().first()
        bobs_token, _ = await api_tokens.create_token(session, await session.get(User, bob.user_id), "Bob's key",
                                                      can_write=True, expires_in_days=None)
        _, alices_token = await api_tokens.create_token(session, await session.get(User, alice.user_id), "script",
                                                        can_write=True, expires_in_days=None)
        bobs_alert = await alerts.create_alert(session, user_id=bob.user_id, gpu="h100", max_price=Decimal("2"))
        await budgets.set_budget(session, bob.user_id, Decimal("100"))
    await grant(sessions, bob.user_id, "enterprise")
    async with sessions() as session, session.begin():
        bob_org = await organizations.create(session, await session.get(User, bob.user_id), BOBS[3])
        bobs_invitation = await invitations.invite(session, bob_org, "dave@example.com", "member")
        bob_project = await projects.create(session, bob_org, BOBS[4])
        bob_pool = await pool_service.create(session, bob_org, PoolSpec(
            name=BOBS[5], gpu="h100", gpus_per_node=1, target_nodes=0, max_nodes=1,
            max_price_per_gpu_hour=Decimal("3")))
    async with sessions() as session, session.begin():  # as a sync would record it once booted
        await session.execute(update(Instance).where(Instance.id == instances[bob.user_id]).values(status="running"))
    bobs_migration = await migration_service.create(
        sessions, Settings(), bob.user_id, instances[bob.user_id],
        migration_service.Target(bob.binding_id, instance_type="sbx.rtx4090.1x", region="sandbox-us-1"),
        rollback_window_seconds=0)
    return World(as_alice, instances[alice.user_id], templates[alice.user_id], alice.binding_id,
                 instances[bob.user_id], templates[bob.user_id], bob.binding_id, offer, bobs_token.id,
                 alices_token, bobs_alert.id, bob_org.workspace_id, bobs_invitation.invitation.id, bob_project.id,
                 bobs_migration.migration.id, bob_pool.id)


async def move_into_an_org(sessions, keyring, account, workspace_id: int | None = None) -> int:
    """Everything of ``account``'s into an organization (theirs, made here unless given), the key
    re-encrypted with the organization's associated data as an organization key is."""
    await grant(sessions, account.user_id, "enterprise")
    async with sessions() as session, session.begin():
        user = await session.get(User, account.user_id)
        if workspace_id is None:
            workspace_id = (await organizations.create(session, user, f"{user.name}'s team")).workspace_id
        for model in (Instance, DeploymentTemplate, ProviderBinding):
            for row in (await session.execute(select(model).where(model.user_id == account.user_id))).scalars():
                if model is ProviderBinding:
                    plain = keyring.decrypt(row.key_ciphertext, binding_aad(row.user_id, row.provider))
                    row.key_ciphertext = keyring.encrypt(plain, workspace_binding_aad(workspace_id, row.provider))
                    row.workspace = await session.get(Workspace, workspace_id)
                else:
                    row.workspace_id = workspace_id
    return workspace_id


async def bobs_state(sessions, cloud, bob) -> tuple:
    async with sessions() as session:
        instance = (await session.execute(select(Instance.status, Instance.name)
                                          .where(Instance.user_id == bob.user_id))).all()
        templates = (await session.execute(select(DeploymentTemplate.name)
                                           .where(DeploymentTemplate.user_id == bob.user_id))).scalars().all()
        binding = await session.get(ProviderBinding, bob.binding_id)
        tokens = (await session.execute(select(ApiToken.name, ApiToken.revoked_at)
                                        .where(ApiToken.user_id == bob.user_id))).all()
        bobs_alerts = (await session.execute(select(PriceAlert.id, PriceAlert.max_price)
                                             .where(PriceAlert.user_id == bob.user_id))).all()
        budget = await budgets.get_budget(session, await personal_workspace_id(session, bob.user_id))
        orgs = (await session.execute(select(Workspace.name, WorkspaceMember.user_id, WorkspaceMember.role)
                                      .join(WorkspaceMember, WorkspaceMember.workspace_id == Workspace.id)
                                      .where(Workspace.name == BOBS[3]).order_by(WorkspaceMember.user_id))).all()
        invites = (await session.execute(select(WorkspaceInvitation.email, WorkspaceInvitation.revoked_at)
                                         .order_by(WorkspaceInvitation.id))).all()
        policy = (await session.execute(select(Workspace.require_two_factor).where(Workspace.name == BOBS[3]))).all()
        bobs_projects = (await session.execute(select(Project.id, Project.name).order_by(Project.id))).all()
        members = (await session.execute(select(ProjectMember.project_id, ProjectMember.user_id))).all()
        assigned = (await session.execute(select(Instance.id, Instance.project_id).order_by(Instance.id))).all()
        migrations = (await session.execute(select(Migration.id, Migration.state, Migration.rollback_reason)
                                            .order_by(Migration.id))).all()
    remote = sorted((i["name"], i["status"]) for i in cloud.list_instances(bob.api_key))
    return (instance, templates, (binding.label, binding.status, binding.project_id), remote, tokens, bobs_alerts,
            budget, orgs, invites, policy, bobs_projects, members, assigned, migrations)


@pytest.mark.parametrize("route", sorted(CASES), ids=lambda r: f"{r[0]} {r[1]}")
async def test_another_users_objects_are_not_found(route, as_alice, sessions, keyring, http, cloud, alice, bob):
    world = await build_world(sessions, keyring, http, alice, bob, as_alice)
    before = await bobs_state(sessions, cloud, bob)

    await CASES[route](world)

    assert await bobs_state(sessions, cloud, bob) == before, "another user's request changed Bob's things"


@pytest.mark.parametrize("route", sorted(CASES), ids=lambda r: f"{r[0]} {r[1]}")
async def test_another_organizations_objects_are_not_found(route, as_alice, sessions, keyring, http, cloud, alice,
                                                           bob):
    """The same walk with both users working in organizations: Alice in hers (switched to it),
    Bob's things in his organization, which Alice is not in."""
    world = await build_world(sessions, keyring, http, alice, bob, as_alice)
    alices_org = await move_into_an_org(sessions, keyring, alice)
    await move_into_an_org(sessions, keyring, bob, world.bob_org)
    switched = await as_alice.post("/workspaces/switch", {"workspace_id": alices_org}, follow_redirects=False)
    assert switched.status_code in (302, 303)
    assert "alices-box" in (await as_alice.get("/console")).text  # Alice works in her organization now
    before = await bobs_state(sessions, cloud, bob)

    await CASES[route](world)

    assert await bobs_state(sessions, cloud, bob) == before, "another workspace's request changed Bob's things"


async def test_every_console_route_needs_a_login(app, sessions):
    async with AsyncTestClient(app=app) as anonymous:
        browser = Browser(anonymous)
        for method, path in sorted(console_routes(app)):
            url = (path.replace("{instance_id:int}", "1").replace("{template_id:int}", "1")
                   .replace("{binding_id:int}", "1").replace("{operation:str}", "stop")
                   .replace("{token_id:str}", "1").replace("{month:str}", "2026-11")
                   .replace("{workspace_id:int}", "1").replace("{user_id:int}", "1")
                   .replace("{invitation_id:int}", "1").replace("{project_id:int}", "1"))
            url = (url.replace("{key_id:int}", "1").replace("{alert_id:int}", "1")
                   .replace("{budget_id:str}", "monthly").replace("{migration_id:int}", "1")
                   .replace("{pool_id:int}", "1"))
            if path.startswith(API):  # the API answers 401 with its token challenge, never a login redirect
                response = await anonymous.request(method, url, json={})
                assert response.status_code == 401, (method, path, response.status_code)
                assert response.headers["www-authenticate"].startswith("Bearer"), (method, path)
                continue
            if method == "GET":
                response = await anonymous.get(url, follow_redirects=False)
            else:
                response = await browser.post(url, follow_redirects=False)
            assert response.status_code in (302, 303), (method, path, response.status_code)
            assert response.headers["location"].startswith("/login"), (method, path)


async def test_bobs_instance_is_still_synced_for_bob(sessions, keyring, http, cloud, clock, alice, bob, as_alice):
    """The scoping does not stop Bob's own sync: after all of the above his instance boots normally."""
    world = await build_world(sessions, keyring, http, alice, bob, as_alice)
    clock.advance(21)
    await sync_binding(sessions, keyring, http, bob.binding_id)
    async with sessions() as session:
        assert (await session.get(Instance, world.bob_instance)).status == "running"
