"""The role matrix: every route of the app, as every role, answers what ``roles.PERMISSIONS`` says.

Each route handler declares who may call it (``permission=`` on its decorator, read from
``handler.opt``; see ``app/workspaces/access.py``). This test reads those declarations from the
created app -- never a copy of them -- and:

- fails for a route that declares nothing, naming it and saying what to add;
- fails for a workspace route that has no request below (``CASES``), so a new route is called too;
- calls each workspace route, page and API, as each role of an organization (the page session
  with the organization chosen, the API with the member's token naming it), as an outsider (a
  member of another organization) and anonymously, against the organization's real objects:
  allowed roles get an answer that is not 401/403/404 (a 4xx of input validation is fine),
  denied roles a 403 with ``roles.Forbidden``'s message, outsiders a 404, anonymous callers a 401
  (API) or the login redirect (pages). A refused call leaves the organization's audit chain as
  it was.

Destructive calls (delete, remove, transfer...) act on objects made for that one call, and the
actors go in an order that keeps the organization usable: refused ones first, the owner last.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal

import httpx
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update

from app.auth import api_tokens
from app.console import bindings
from app.console.api.auth import WORKSPACE_HEADER, api_access
from app.console.instances import LaunchSpec, launch
from app.db.models import AuditEvent, DeploymentTemplate, Instance, Offer, User
from app.db.types import utcnow
from app.migration import service as migration_service
from app.notifications import budgets
from app.pools import service as pool_service
from app.pools.spec import PoolSpec
from app.workspaces import access, invitations, organizations, projects, roles
from app.workspaces.scope import Scope
from providers.sandbox import generate_api_key
from tests.auth.support import fast_password_hashing  # noqa: F401 - autouse: cheap argon2 in tests
from tests.billing.support import grant
from tests.console.conftest import Account, Browser, make_account, sandbox_offers
from tests.workspaces.support import Org, org_with_every_role, scope_of, switch_to

API = "/api/v1/console"
ORG = "/workspaces/{workspace_id:int}"
ANONYMOUS, OUTSIDER = "anonymous", "outsider"
ORG_SECRETS = ("acme-box", "Acme template")
"""Names of the organization's objects: an outsider's page must never show them."""
ENFORCERS = {access.require_permission, api_access}


# ---- the declarations ------------------------------------------------------------------------

def declared_routes(app) -> dict[tuple[str, str], object]:
    """(method, path) -> handler, for every route of the app (Litestar's automatic OPTIONS aside)."""
    found = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            for method in handler.http_methods:
                if method not in ("OPTIONS", "HEAD"):
                    found[(method, route.path)] = handler
    return found


def workspace_routes(app) -> dict[tuple[str, str], str]:
    return {key: handler.opt["permission"] for key, handler in declared_routes(app).items()
            if handler.opt.get("permission") in roles.PERMISSIONS}


def guard_functions(handler) -> set:
    return {getattr(g, "func", g) for g in handler.resolve_guards()}  # a sync guard comes wrapped


def test_every_route_declares_who_may_call_it(app):
    allowed = set(roles.PERMISSIONS) | set(access.NOT_WORKSPACE)
    problems = []
    for (method, path), handler in sorted(declared_routes(app).items()):
        permission = handler.opt.get("permission")
        where = f"{method} {path} ({handler.handler_name} in {getattr(handler.fn, '__module__', '?')})"
        if permission is None:
            problems.append(f"{where} declares no permission: add permission=\"...\" to its route decorator, e.g. "
                            f"@{method.lower()}(\"...\", permission=\"operate\") -- one of roles.PERMISSIONS "
                            f"{sorted(roles.PERMISSIONS)} for a workspace route (then a request for it in CASES in "
                            f"tests/workspaces/test_role_matrix.py), or \"login\" (the user's own account), "
                            f"\"public\" (no login) or \"site_admin\" (app/workspaces/access.py)")
        elif permission not in allowed:
            problems.append(f"{where} declares unknown permission {permission!r}: use one of {sorted(allowed)}")
    assert not problems, "\n".join(problems)


def test_every_workspace_route_is_enforced_before_its_handler(app):
    """The declaration is enforced, not only written: the route runs one of the guards that read it."""
    handlers = declared_routes(app)
    missing = [f"{m} {p}" for (m, p) in workspace_routes(app) if not ENFORCERS & guard_functions(handlers[(m, p)])]
    assert not missing, ("these workspace routes do not run access.require_permission (pages: guards = "
                         f"CONSOLE_GUARDS) or api_access (console API: guards = [api_access]): {missing}")


def test_every_workspace_route_has_a_request_in_the_matrix(app):
    routes = set(workspace_routes(app))
    assert routes - CASES.keys() == set(), (
        "a workspace route has no request in CASES (tests/workspaces/test_role_matrix.py): add "
        "`(method, path): page(...)` or `api(...)` for each of " + repr(sorted(routes - CASES.keys())))
    assert CASES.keys() - routes == set(), f"CASES names routes that are gone or not workspace routes: " \
                                           f"{sorted(CASES.keys() - routes)}"


def any_url(path: str) -> str:
    """A concrete URL for a path template (the values need not exist: anonymous is turned away first)."""
    return re.sub(r"\{[a-z_]+:int\}", "1", re.sub(r"\{[a-z_]+:str\}", "x", path))


async def test_every_login_and_admin_route_turns_anonymous_away(app):
    """``login`` and ``site_admin`` routes are declared as needing a login: anonymous callers get
    the login redirect (pages) or the token challenge (API), never the handler."""
    wrong, checked = [], 0
    async with AsyncTestClient(app=app) as anonymous:
        browser = Browser(anonymous)
        for (method, path), handler in sorted(declared_routes(app).items()):
            if handler.opt.get("permission") not in (access.LOGIN, access.SITE_ADMIN):
                continue
            url, checked = any_url(path), checked + 1
            if path.startswith(API):
                response = await anonymous.request(method, url, json={})
                if response.status_code != 401:
                    wrong.append(f"{method} {path}: {response.status_code}")
                continue
            response = await (browser.get(url, follow_redirects=False) if method == "GET"
                              else browser.post(url, follow_redirects=False))
            if response.status_code not in (302, 303) or not response.headers["location"].startswith("/login"):
                wrong.append(f"{method} {path}: {response.status_code}")
    assert checked, "no login-only routes found"
    assert not wrong, f"declared login-only, yet answered anonymous callers: {wrong}"


def test_the_members_page_table_is_the_permission_table():
    """The members page shows ``roles.matrix()``: the same rows and ticks as PERMISSIONS."""
    shown = {p: {r for r, tick in zip(roles.ROLES, ticks) if tick} for p, _label, ticks in roles.matrix()}
    assert shown == {p: set(r) for p, r in roles.PERMISSIONS.items()}


# ---- the world the requests act on ------------------------------------------------------------

@dataclass
class World:
    org: Org
    owner: Scope
    outsider: Account
    instance: int
    template: int
    offer: int
    browsers: dict[str, Browser]
    tokens: dict[str, str]
    anonymous: AsyncTestClient
    sessions: object
    keyring: object
    http: httpx.AsyncClient
    settings: object = None
    migration: int = 0
    pool: int = 0
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def name(self, stem: str) -> str:
        return f"{stem}-{next(self.counter)}"

    async def fresh_instance(self) -> int:
        row = await launch(self.sessions, self.keyring, self.http, self.owner, LaunchSpec(
            binding_id=self.org.binding_id, name=self.name("acme-box"), instance_type="sbx.h100.1x",
            region="sandbox-eu-1"))
        return row.id

    async def fresh_template(self) -> int:
        async with self.sessions() as session, session.begin():
            row = DeploymentTemplate(workspace_id=self.org.id, user_id=self.owner.user_id,
                                     name=self.name("Acme template"), provider="sandbox",
                                     instance_type="sbx.h100.1x", region="sandbox-eu-1", created_at=utcnow())
            session.add(row)
            await session.flush()
            return row.id

    async def fresh_binding(self) -> int:
        async with self.sessions() as session, session.begin():
            row = await bindings.add_binding(session, self.keyring, self.owner, "sandbox", self.name("Spare key"),
                                             {"api_key": generate_api_key()})
            row.status, row.verified_at = "verified", utcnow()
            return row.id

    async def fresh_member(self) -> int:
        """A viewer to act on (change, remove, hand the organization to)."""
        account = await make_account(self.sessions, self.keyring, f"{self.name('target')}@example.com")
        async with self.sessions() as session, session.begin():
            await organizations.add_member(session, self.owner, account.email, "viewer")
        return account.user_id

    async def fresh_org(self) -> int:
        """A second organization of the same people in the same roles, for a call that ends the
        organization for its caller (delete, hand over, leave)."""
        async with self.sessions() as session, session.begin():
            owner = await session.get(User, self.owner.user_id)
            scope = await organizations.create(session, owner, self.name("Spare org"))
            for role, account in self.org.people.items():
                if role != "owner":
                    await organizations.add_member(session, scope, account.email, role)
            return scope.workspace_id

    async def fresh_project(self) -> int:
        async with self.sessions() as session, session.begin():
            return (await projects.create(session, self.owner, self.name("Acme project"))).id

    async def fresh_pool(self) -> int:
        """A pool of no nodes (nothing to launch), in the organization."""
        async with self.sessions() as session, session.begin():
            return (await pool_service.create(session, self.owner, PoolSpec(
                name=self.name("pool"), gpu="h100", gpus_per_node=1, target_nodes=0, max_nodes=2,
                max_price_per_gpu_hour=Decimal("3")))).id

    async def fresh_invitation(self) -> int:
        async with self.sessions() as session, session.begin():
            invited = await invitations.invite(session, self.owner, f"{self.name('invitee')}@example.com", "viewer")
            return invited.invitation.id

    async def fresh_running_instance(self) -> int:
        instance_id = await self.fresh_instance()
        async with self.sessions() as session, session.begin():  # as a sync would record it once booted
            await session.execute(update(Instance).where(Instance.id == instance_id).values(status="running"))
        return instance_id

    async def fresh_migration(self) -> int:
        view = await migration_service.create(
            self.sessions, self.settings, self.owner, await self.fresh_running_instance(),
            migration_service.Target(self.org.binding_id, instance_type="sbx.rtx4090.1x", region="sandbox-us-1"),
            rollback_window_seconds=0)
        return view.migration.id

    async def fresh_migration_url(self) -> str:
        return f"/api/v1/migrations/{await self.fresh_migration()}/rollback"

    async def with_budget(self) -> None:
        async with self.sessions() as session, session.begin():
            await budgets.set_budget(session, self.owner, Decimal("100000"))

    async def fresh_account(self) -> str:
        """Someone not in the organization yet, for the add-member form."""
        return (await make_account(self.sessions, self.keyring, f"{self.name('newcomer')}@example.com")).email


async def build_world(sessions, keyring, http, login, app) -> World:
    await sandbox_offers(sessions)
    org = await org_with_every_role(sessions, keyring)
    for account in org.people.values():  # plan gates (templates, batch, auto-repair) stay out of the way
        await grant(sessions, account.user_id, "enterprise")
    outsider = await make_account(sessions, keyring, "outsider@example.com", plan="enterprise")
    async with sessions() as session, session.begin():
        outsiders_org = await organizations.create(session, await session.get(User, outsider.user_id), "Other Co")
        offer = (await session.execute(select(Offer.id).where(Offer.source == "sandbox"))).scalars().first()
        tokens = {}
        for actor, account in [*org.people.items(), (OUTSIDER, outsider)]:
            _, tokens[actor] = await api_tokens.create_token(session, await session.get(User, account.user_id),
                                                             "matrix", can_write=True, expires_in_days=None)
    owner = await scope_of(sessions, org.people["owner"], org.id)
    browsers = {}
    for actor, account in org.people.items():
        browsers[actor] = await login(account.email)
        await switch_to(browsers[actor], org.id)
    browsers[OUTSIDER] = await login(outsider.email)
    await switch_to(browsers[OUTSIDER], outsiders_org.workspace_id)
    anonymous = AsyncTestClient(app=app)
    await anonymous.__aenter__()
    world = World(org, owner, outsider, 0, 0, offer, browsers, tokens, anonymous, sessions, keyring, http,
                  app.state.settings)
    world.instance = await world.fresh_instance()
    world.template = await world.fresh_template()
    world.pool = await world.fresh_pool()
    return world


# ---- one request per route --------------------------------------------------------------------

@dataclass(frozen=True)
class Call:
    """How to call one route: the URL, the form or JSON body, for a world (may make fresh objects)."""
    make: Callable[[World], Awaitable[tuple[str, object, int | None]]]
    """(URL, body, the workspace an API call names: None for the organization's)."""
    is_api: bool
    names_org_object: bool
    """An outsider gets a 404 (the path or body names the organization's object). Pages without
    one act in the outsider's own workspace: they must answer, without the organization's names."""


def page(url: Callable[[World], Awaitable[str] | str], body: Callable[[World], Awaitable[object] | object] = None,
         names_org_object: bool = True) -> Call:
    async def make(w: World) -> tuple[str, object, int | None]:
        return await _maybe(url(w)), await _maybe(body(w)) if body else None, None
    return Call(make, False, names_org_object)


def api(url: Callable[[World], Awaitable[str] | str], body: Callable[[World], Awaitable[object] | object] = None,
        workspace: Callable[[World], Awaitable[int]] | None = None) -> Call:
    """``workspace``: the organization the call names (a fresh one for a call that ends it for its caller)."""
    async def make(w: World) -> tuple[str, object, int | None]:
        return (await _maybe(url(w)), await _maybe(body(w)) if body else None,
                await workspace(w) if workspace else None)
    return Call(make, True, True)  # the token names the organization: an outsider is a 404 everywhere


async def _maybe(value):
    return await value if isinstance(value, Awaitable) else value


def month() -> str:
    return utcnow().strftime("%Y-%m")


def fresh(kind: str, template: str) -> Callable[[World], Awaitable[str]]:
    """A URL with a new object of ``kind`` made for this one call (the call may delete it)."""
    async def url(w: World) -> str:
        return template.format(id=await getattr(w, f"fresh_{kind}")(), org=w.org.id)
    return url


def shared(template: str) -> Callable[[World], str]:
    return lambda w: template.format(instance=w.instance, template=w.template, binding=w.org.binding_id,
                                     org=w.org.id, offer=w.offer, month=month())


async def new_member_form(w: World) -> dict:
    return {"email": await w.fresh_account(), "role": "viewer"}


def budget_then(template: str) -> Callable[[World], Awaitable[str]]:
    """A URL acting on the organization's budget, set just before (a delete removes it)."""
    async def url(w: World) -> str:
        await w.with_budget()
        return template
    return url


async def running_instance_migration(w: World) -> dict:
    return {"instance_id": await w.fresh_running_instance(), "key_id": w.org.binding_id,
            "instance_type": "sbx.rtx4090.1x", "region": "sandbox-us-1", "rollback_window_hours": 0}


def in_fresh_org(action: str) -> Callable[[World], Awaitable[str]]:
    async def url(w: World) -> str:
        return f"/workspaces/{await w.fresh_org()}/{action}"
    return url


async def transfer_form(w: World) -> dict:
    # Anyone in the spare organization but its owner (the URL's, made just before this form).
    return {"user_id": str(w.org.people["viewer"].user_id), "confirm": "yes"}


CASES: dict[tuple[str, str], Call] = {
    # deployments
    ("GET", "/console"): page(shared("/console"), names_org_object=False),
    ("POST", "/console/sync"): page(shared("/console/sync"), lambda w: {}, names_org_object=False),
    ("POST", "/console/poll"): page(shared("/console/poll"), lambda w: {}, names_org_object=False),
    ("GET", "/console/instances/{instance_id:int}"): page(shared("/console/instances/{instance}")),
    ("GET", "/console/instances/{instance_id:int}/confirm/{operation:str}"):
        page(shared("/console/instances/{instance}/confirm/delete")),
    ("POST", "/console/instances/{instance_id:int}/actions/{operation:str}"):
        page(fresh("instance", "/console/instances/{id}/actions/delete"), lambda w: {"confirm": "yes"}),
    ("POST", "/console/instances/{instance_id:int}/auto-repair"):
        page(shared("/console/instances/{instance}/auto-repair"),
             lambda w: {"auto_repair": "on", "health_check_url": "http://198.51.100.9/health"}),
    ("GET", "/console/history"): page(shared("/console/history"), names_org_object=False),
    ("GET", "/console/overview"): page(shared("/console/overview"), names_org_object=False),
    ("GET", "/console/batch"): page(shared("/console/batch?op=stop&id={instance}")),
    ("POST", "/console/batch"): page(shared("/console/batch"), lambda w: [("op", "stop"), ("id", str(w.instance))]),
    ("GET", "/console/launch"): page(shared("/console/launch?offer={offer}"), names_org_object=False),
    ("POST", "/console/launch"):
        page(shared("/console/launch"), lambda w: {"offer": w.offer, "binding_id": w.org.binding_id,
                                                    "name": w.name("launched")}),
    # templates
    ("GET", "/console/templates"): page(shared("/console/templates"), names_org_object=False),
    ("POST", "/console/templates"):
        page(shared("/console/templates"), lambda w: {"name": w.name("tpl"), "provider": "sandbox",
                                                       "instance_type": "sbx.h100.1x", "region": "sandbox-eu-1"},
             names_org_object=False),
    ("POST", "/console/templates/from-instance/{instance_id:int}"):
        page(shared("/console/templates/from-instance/{instance}"), lambda w: {"name": w.name("from-box")}),
    ("POST", "/console/templates/{template_id:int}/launch"):
        page(shared("/console/templates/{template}/launch"),
             lambda w: {"name": w.name("tpl-launch"), "binding_id": w.org.binding_id}),
    ("POST", "/console/templates/{template_id:int}/delete"): page(fresh("template", "/console/templates/{id}/delete")),
    # provider keys
    ("GET", "/settings/providers"): page(shared("/settings/providers"), names_org_object=False),
    ("GET", "/settings/providers/new"): page(shared("/settings/providers/new?provider=sandbox"), names_org_object=False),
    ("POST", "/settings/providers"):
        page(shared("/settings/providers"), lambda w: {"provider": "sandbox", "label": w.name("added"),
                                                        "api_key": generate_api_key()}, names_org_object=False),
    ("POST", "/settings/providers/{binding_id:int}/verify"): page(shared("/settings/providers/{binding}/verify")),
    ("POST", "/settings/providers/{binding_id:int}/rename"):
        page(shared("/settings/providers/{binding}/rename"), lambda w: {"label": w.name("Org key")}),
    ("GET", "/settings/providers/{binding_id:int}/remove"): page(shared("/settings/providers/{binding}/remove")),
    ("POST", "/settings/providers/{binding_id:int}/remove"):
        page(fresh("binding", "/settings/providers/{id}/remove"), lambda w: {"confirm": "yes"}),
    # costs and the activity log
    ("GET", "/costs"): page(shared("/costs"), names_org_object=False),
    ("GET", "/costs/export.csv"): page(shared("/costs/export.csv"), names_org_object=False),
    ("GET", "/costs/statements"): page(shared("/costs/statements"), names_org_object=False),
    ("GET", "/costs/statements/{month:str}"): page(shared("/costs/statements/{month}"), names_org_object=False),
    ("GET", "/costs/statements/{month:str}/statement.csv"):
        page(shared("/costs/statements/{month}/statement.csv"), names_org_object=False),
    ("GET", "/costs/statements/{month:str}/statement.pdf"):
        page(shared("/costs/statements/{month}/statement.pdf"), names_org_object=False),
    ("GET", "/settings/activity"): page(shared("/settings/activity"), names_org_object=False),
    ("GET", "/settings/activity/export.csv"): page(shared("/settings/activity/export.csv"), names_org_object=False),
    # the organization itself (its id is in the path)
    ("GET", ORG): page(shared("/workspaces/{org}")),
    ("POST", f"{ORG}/rename"): page(shared("/workspaces/{org}/rename"), lambda w: {"name": w.name("Acme ML")}),
    ("POST", f"{ORG}/delete"): page(in_fresh_org("delete"), lambda w: {"confirm": "yes"}),
    ("POST", f"{ORG}/transfer"): page(in_fresh_org("transfer"), transfer_form),
    ("POST", f"{ORG}/members"): page(shared("/workspaces/{org}/members"), new_member_form),
    ("POST", f"{ORG}/members/{{user_id:int}}/role"):
        page(fresh("member", "/workspaces/{org}/members/{id}/role"), lambda w: {"role": "member"}),
    ("POST", f"{ORG}/members/{{user_id:int}}/remove"): page(fresh("member", "/workspaces/{org}/members/{id}/remove")),
    ("POST", f"{ORG}/leave"): page(in_fresh_org("leave"), lambda w: {}),
    # the organization's own subscription (local billing: subscribing works once, then a 400 says so)
    ("GET", f"{ORG}/billing"): page(shared("/workspaces/{org}/billing")),
    ("POST", f"{ORG}/billing/subscribe"): page(shared("/workspaces/{org}/billing/subscribe"), lambda w: {}),
    ("POST", f"{ORG}/billing/cancel"): page(shared("/workspaces/{org}/billing/cancel"), lambda w: {}),
    ("POST", f"{ORG}/billing/resume"): page(shared("/workspaces/{org}/billing/resume"), lambda w: {}),
    ("POST", f"{ORG}/billing/payment-methods"): page(shared("/workspaces/{org}/billing/payment-methods"), lambda w: {}),
    # the console API
    ("GET", f"{API}/deployments"): api(shared(f"{API}/deployments")),
    ("GET", f"{API}/deployments/{{instance_id:int}}"): api(shared(API + "/deployments/{instance}")),
    ("POST", f"{API}/deployments"):
        api(shared(f"{API}/deployments"), lambda w: {"offer_id": w.offer, "key_id": w.org.binding_id,
                                                      "name": w.name("api-launch")}),
    ("POST", f"{API}/deployments/{{instance_id:int}}/{{operation:str}}"):
        api(fresh("instance", API + "/deployments/{id}/delete")),
    ("GET", f"{API}/keys"): api(shared(f"{API}/keys")),
    ("POST", f"{API}/keys/{{key_id:int}}/verify"): api(shared(API + "/keys/{binding}/verify")),
    ("POST", f"{API}/keys"):
        api(shared(f"{API}/keys"), lambda w: {"provider": "sandbox", "label": w.name("api-key"),
                                              "credentials": {"api_key": generate_api_key()}}),
    ("DELETE", f"{API}/keys/{{key_id:int}}"): api(fresh("binding", API + "/keys/{id}")),
    ("POST", f"{API}/templates/from-deployment/{{instance_id:int}}"):
        api(shared(API + "/templates/from-deployment/{instance}"), lambda w: {"name": w.name("api-from-box")}),
    ("GET", f"{API}/templates"): api(shared(f"{API}/templates")),
    ("POST", f"{API}/templates"):
        api(shared(f"{API}/templates"), lambda w: {"name": w.name("api-tpl"), "provider": "sandbox",
                                                    "instance_type": "sbx.h100.1x", "region": "sandbox-eu-1"}),
    ("GET", f"{API}/templates/{{template_id:int}}"): api(shared(API + "/templates/{template}")),
    ("PATCH", f"{API}/templates/{{template_id:int}}"):
        api(shared(API + "/templates/{template}"), lambda w: {"name": w.name("renamed-tpl")}),
    ("DELETE", f"{API}/templates/{{template_id:int}}"): api(fresh("template", API + "/templates/{id}")),
    ("POST", f"{API}/templates/{{template_id:int}}/launch"):
        api(shared(API + "/templates/{template}/launch"), lambda w: {"key_id": w.org.binding_id,
                                                                      "name": w.name("api-tpl-launch")}),
    ("POST", f"{API}/batch"): api(shared(f"{API}/batch"), lambda w: {"operation": "stop", "ids": [w.instance]}),
    ("GET", f"{API}/costs"): api(shared(f"{API}/costs")),
    # budgets and quotas
    ("GET", "/console/budget"): page(shared("/console/budget"), names_org_object=False),
    ("POST", "/console/budget"):
        page(shared("/console/budget"), lambda w: {"monthly_budget": "100000", "grace_minutes": ""},
             names_org_object=False),
    ("POST", "/console/budget/quotas"):
        page(shared("/console/budget/quotas"), lambda w: {"max_running_instances": "", "max_gpus": "",
                                                          "max_hourly_spend": ""}, names_org_object=False),
    ("GET", f"{API}/budgets"): api(shared(f"{API}/budgets")),
    ("POST", f"{API}/budgets"): api(shared(f"{API}/budgets"), lambda w: {"monthly_amount": "100000"}),
    ("DELETE", f"{API}/budgets/{{budget_id:str}}"): api(budget_then(f"{API}/budgets/monthly")),
    ("GET", f"{API}/quotas"): api(shared(f"{API}/quotas")),
    ("PUT", f"{API}/quotas"):
        api(shared(f"{API}/quotas"), lambda w: {"max_running_instances": None, "max_gpus": None,
                                                "max_hourly_spend": None}),
    # invitations, members, the two-factor policy
    ("POST", f"{ORG}/invitations"):
        page(shared("/workspaces/{org}/invitations"), lambda w: {"email": f"{w.name('invitee')}@example.com",
                                                                 "role": "viewer"}),
    ("POST", f"{ORG}/invitations/{{invitation_id:int}}/revoke"):
        page(fresh("invitation", "/workspaces/{org}/invitations/{id}/revoke"), lambda w: {}),
    ("POST", f"{ORG}/two-factor"): page(shared("/workspaces/{org}/two-factor"), lambda w: {"require": "off"}),
    ("GET", f"{API}/organization/members"): api(shared(f"{API}/organization/members")),
    ("GET", f"{API}/organization/invitations"): api(shared(f"{API}/organization/invitations")),
    ("POST", f"{API}/organization/invitations"):
        api(shared(f"{API}/organization/invitations"), lambda w: {"email": f"{w.name('invitee')}@example.com",
                                                                  "role": "viewer"}),
    ("DELETE", f"{API}/organization/invitations/{{invitation_id:int}}"):
        api(fresh("invitation", API + "/organization/invitations/{id}")),
    ("DELETE", f"{API}/organization/members/{{user_id:int}}"): api(fresh("member", API + "/organization/members/{id}")),
    ("POST", f"{API}/organization/leave"): api(shared(f"{API}/organization/leave"), lambda w: {},
                                               workspace=lambda w: w.fresh_org()),
    ("POST", f"{API}/organization/transfer"):
        api(shared(f"{API}/organization/transfer"), lambda w: {"user_id": w.org.people["viewer"].user_id},
            workspace=lambda w: w.fresh_org()),
    ("PUT", f"{API}/organization/two-factor"):
        api(shared(f"{API}/organization/two-factor"), lambda w: {"require_two_factor": False}),
    # projects
    ("GET", f"{ORG}/projects"): page(shared("/workspaces/{org}/projects")),
    ("POST", f"{ORG}/projects"): page(shared("/workspaces/{org}/projects"), lambda w: {"name": w.name("proj")}),
    ("POST", f"{ORG}/projects/{{project_id:int}}/rename"):
        page(fresh("project", "/workspaces/{org}/projects/{id}/rename"), lambda w: {"name": w.name("renamed")}),
    ("POST", f"{ORG}/projects/{{project_id:int}}/delete"):
        page(fresh("project", "/workspaces/{org}/projects/{id}/delete"), lambda w: {}),
    ("POST", f"{ORG}/projects/{{project_id:int}}/members"):
        page(fresh("project", "/workspaces/{org}/projects/{id}/members"), lambda w: {}),
    ("POST", "/settings/providers/{binding_id:int}/project"):
        page(fresh("binding", "/settings/providers/{id}/project"), lambda w: {"workspace_project": ""}),
    ("POST", "/console/instances/{instance_id:int}/project"):
        page(fresh("instance", "/console/instances/{id}/project"), lambda w: {"project_id": ""}),
    ("PATCH", f"{API}/deployments/{{instance_id:int}}"):
        api(fresh("instance", API + "/deployments/{id}"), lambda w: {"project_id": None}),
    ("GET", f"{API}/projects"): api(shared(f"{API}/projects")),
    ("POST", f"{API}/projects"): api(shared(f"{API}/projects"), lambda w: {"name": w.name("api-proj")}),
    ("PATCH", f"{API}/projects/{{project_id:int}}"):
        api(fresh("project", API + "/projects/{id}"), lambda w: {"name": w.name("api-renamed")}),
    ("DELETE", f"{API}/projects/{{project_id:int}}"): api(fresh("project", API + "/projects/{id}")),
    # migrations: the pages (the wizard, "move my deployment here", progress, its poll, cancel)
    ("GET", "/console/migrations"): page(shared("/console/migrations"), names_org_object=False),
    ("GET", "/console/migrate"): page(shared("/console/migrate?offer={offer}"), names_org_object=False),
    ("GET", "/console/instances/{instance_id:int}/migrate"): page(shared("/console/instances/{instance}/migrate")),
    ("GET", "/console/instances/{instance_id:int}/migrate/preview"):
        page(shared("/console/instances/{instance}/migrate/preview?offer={offer}")),
    ("POST", "/console/instances/{instance_id:int}/migrate"):
        page(fresh("running_instance", "/console/instances/{id}/migrate"), lambda w: {"offer": ""}),
    ("GET", "/console/migrations/{migration_id:int}"): page(lambda w: f"/console/migrations/{w.migration}"),
    ("GET", "/console/migrations/{migration_id:int}/status"): page(lambda w: f"/console/migrations/{w.migration}/status"),
    ("POST", "/console/migrations/{migration_id:int}/rollback"):
        page(fresh("migration", "/console/migrations/{id}/rollback"), lambda w: {"action": "cancel"}),
    # migrations
    ("POST", "/api/v1/migrations"): api(shared("/api/v1/migrations"), running_instance_migration),
    ("GET", "/api/v1/migrations/{migration_id:int}"): api(lambda w: f"/api/v1/migrations/{w.migration}"),
    ("POST", "/api/v1/migrations/{migration_id:int}/rollback"):
        api(lambda w: w.fresh_migration_url(), lambda w: {"reason": "matrix"}),
    # node pools (Enterprise)
    ("GET", "/console/pools"): page(shared("/console/pools"), names_org_object=False),
    ("GET", "/console/pools/{pool_id:int}"): page(lambda w: f"/console/pools/{w.pool}"),
    ("GET", "/api/v1/pools"): api(shared("/api/v1/pools")),
    ("POST", "/api/v1/pools"): api(shared("/api/v1/pools"), lambda w: {
        "name": w.name("pool"), "gpu": "h100", "target_nodes": 0, "max_nodes": 2, "max_price_per_gpu_hour": "3"}),
    ("GET", "/api/v1/pools/{pool_id:int}"): api(lambda w: f"/api/v1/pools/{w.pool}"),
    ("POST", "/api/v1/pools/{pool_id:int}/scale"):
        api(lambda w: f"/api/v1/pools/{w.pool}/scale", lambda w: {"target_nodes": 0}),
    ("DELETE", "/api/v1/pools/{pool_id:int}"): api(fresh("pool", "/api/v1/pools/{id}")),
}


# ---- the walk ---------------------------------------------------------------------------------

def actors_in_order(permission: str) -> list[str]:
    """Anonymous and the outsider first, then the refused roles, then the allowed ones, the owner
    last: what an allowed call changes (the organization deleted or handed over) comes at the end."""
    denied = [r for r in roles.ROLES if not roles.allows(r, permission)]
    allowed = [r for r in roles.ROLES if roles.allows(r, permission) and r != "owner"]
    return [ANONYMOUS, OUTSIDER, *denied, *allowed, *(["owner"] if roles.allows("owner", permission) else [])]


async def send(w: World, actor: str, method: str, call: Call, url: str, body: object,
               workspace: int | None = None) -> httpx.Response:
    if call.is_api:
        client = w.anonymous if actor == ANONYMOUS else w.browsers[actor].client
        headers = {} if actor == ANONYMOUS else {"authorization": f"Bearer {w.tokens[actor]}",
                                                 WORKSPACE_HEADER: str(workspace or w.org.id)}
        return await client.request(method, url, json=body, headers=headers, follow_redirects=False)
    browser = Browser(w.anonymous) if actor == ANONYMOUS else w.browsers[actor]
    if method == "GET":
        return await browser.get(url, follow_redirects=False)
    return await browser.post(url, body, follow_redirects=False)


async def audit_rows(sessions) -> int:
    """Every audit row of every workspace: a refused call writes none anywhere."""
    async with sessions() as session:
        return (await session.execute(select(func.count()).select_from(AuditEvent))).scalar_one()


def problem(actor: str, permission: str, call: Call, response: httpx.Response) -> str | None:
    """What is wrong with the answer, or None."""
    status = response.status_code
    if actor == ANONYMOUS:
        if call.is_api:
            return None if status == 401 else "expected 401"
        location = response.headers.get("location", "")
        return None if status in (302, 303) and location.startswith("/login") else "expected the login redirect"
    if actor == OUTSIDER:
        if call.names_org_object:
            return None if status == 404 else "expected 404 (another workspace's object)"
        if status in (401, 403, 404) or status >= 500:  # the outsider's own workspace: an answer
            return "expected an answer from the outsider's own workspace"
        leaked = [secret for secret in ORG_SECRETS if secret in response.text]
        return f"shows the organization's {leaked}" if leaked else None
    if roles.allows(actor, permission):
        if status in (401, 403, 404) or status >= 500 or response.headers.get("location", "").startswith("/login"):
            return f"expected an answer ({permission} allows {actor})"
        return None
    if status != 403:
        return f"expected 403 ({permission} refuses {actor})"
    message = roles.Forbidden(permission, actor).detail
    return None if message in response.text else f"expected the message {message!r}"


def walk_order(route: tuple[str, str]) -> tuple[bool, tuple[str, str]]:
    return route[1].startswith(ORG), route  # the organization's own routes last


async def test_every_workspace_route_as_every_actor(app, sessions, keyring, http, cloud, login):
    world = await build_world(sessions, keyring, http, login, app)
    routes = workspace_routes(app)
    failures = []
    try:
        world.migration = await world.fresh_migration()
        for route in sorted(CASES, key=walk_order):
            method, path = route
            permission, call = routes.get(route), CASES[route]
            if permission is None:
                failures.append(f"{method} {path}: not a workspace route of the app")
                continue
            for actor in actors_in_order(permission):
                url, body, workspace = await call.make(world)  # fresh objects first: making them is audited
                before = await audit_rows(sessions)
                response = await send(world, actor, method, call, url, body, workspace)
                wrong = problem(actor, permission, call, response)
                refused = actor == ANONYMOUS or (actor == OUTSIDER and call.names_org_object) or (
                    actor not in (ANONYMOUS, OUTSIDER) and not roles.allows(actor, permission))
                if wrong is None and refused and await audit_rows(sessions) != before:
                    wrong = "refused, yet it wrote to the audit log"
                if wrong:
                    failures.append(f"{method} {path} as {actor}: {wrong}; got {response.status_code} "
                                    f"{response.text[:160]!r}")
    finally:
        await world.anonymous.__aexit__(None, None, None)
    assert not failures, f"{len(failures)} answers differ from roles.PERMISSIONS:\n" + "\n".join(failures)
