"""Every route, path parameter, query parameter and form field of the app, sent the inputs that
break servers (NUL, 100k characters, 64-bit and 20-digit integers, far dates, RTL, emoji,
combining marks, a lone surrogate, NaN...), logged out and logged in, on SQLite and PostgreSQL:
no answer may be a server error.

The surface is found, not listed: routes from ``app.routes``, query parameters from each
handler's signature and the OpenAPI schema, form fields from the forms the GET pages render.
A route or field added later is fuzzed without touching this file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from app.db.models import DeploymentTemplate, Instance, Offer, PriceAlert
from tests.console.conftest import Browser, sandbox_offers
from tests.fuzz.support import (
    ALWAYS,
    LONE_SURROGATE_QUERY,
    PLAUSIBLE,
    Route,
    app_routes,
    query,
    read_forms,
    values_for,
)

# Sample values for path parameters of valid requests, by name.
STR_SAMPLES = {"slug": "h100", "operation": "stop", "token": "not-a-real-token"}
NOT_FRAMEWORK = {"self", "request", "db", "user", "data", "state", "headers", "cookies", "scope"}
# Logged in, these would end the session the run needs (they are fuzzed logged out).
SESSION_ENDING = ("/logout", "/login", "/signup", "/forgot", "/reset")


@dataclass
class Run:
    client: Browser
    ids: dict[str, int]
    failures: list[str] = field(default_factory=list)
    sent: int = 0

    async def send(self, method: str, url: str, what: str, data: list[tuple[str, str]] | None = None) -> None:
        self.sent += 1
        if method == "GET":
            response = await self.client.get(url, follow_redirects=False)
        else:
            response = await self.client.post(url, data or [], follow_redirects=False)
        if response.status_code >= 500:
            self.failures.append(f"{response.status_code} {method} {url[:160]} [{what}]: {response.text[:200]!r}")

    def report(self) -> str:
        return f"{len(self.failures)} of {self.sent} requests answered >= 500:\n" + "\n".join(self.failures[:40])


# The query a page needs to show its form (the launch form needs an offer).
BASE_QUERY = {
    "/console/launch": lambda ids: {"offer": ids.get("offer", 1)},
    "/console/batch": lambda ids: {"op": "stop", "id": ids.get("instance_id", 1)},
    "/settings/providers/new": lambda ids: {"provider": "sandbox"},
    "/api/v1/history": lambda ids: {"gpu": "h100"},
}


def base_url(route: Route, ids: dict[str, int], **query_values: str) -> str:
    values = {name: ids.get(name, 1) for name in route.int_params}
    values |= {name: STR_SAMPLES.get(name, "h100") for name in route.str_params}
    base = BASE_QUERY.get(route.path, lambda ids: {})(ids) | query_values
    return route.url(**values) + (f"?{query(base)}" if base else "")


def query_names(app, route: Route) -> list[str]:
    """The query parameters a handler declares (aliases like ``from`` included)."""
    for handler in app.route_handler_method_map.get(route.path, {}).values():
        if handler.handler_name != route.handler:
            continue
        dependencies = set(handler.resolve_dependencies())
        names = []
        for name, parameter in handler.parsed_fn_signature.parameters.items():
            if name in NOT_FRAMEWORK or name in dependencies or name in route.int_params + route.str_params:
                continue
            definition = parameter.kwarg_definition
            names.append(getattr(definition, "query", None) or name)
        return names
    return []


async def openapi_parameters(client: Browser) -> dict[str, list[str]]:
    schema = (await client.get("/schema/openapi.json")).json()
    return {path: [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]
            for path, ops in schema["paths"].items() for op in ops.values()}


async def fuzz(app, run: Run, *, logged_in: bool) -> None:
    routes = [r for r in app_routes(app)
              if not (logged_in and r.path.startswith(SESSION_ENDING)) and r.path != "/metrics"]
    index = 0

    # Path parameters: every value in every {…} of every route and method.
    for route in routes:
        for name in route.int_params + route.str_params:
            for label, value in values_for(index, in_url=True).items():
                values = {n: run.ids.get(n, 1) for n in route.int_params}
                values |= {n: STR_SAMPLES.get(n, "h100") for n in route.str_params}
                url = route.url(**{**values, name: _path_quote(value)})
                await run.send(route.method, url, f"path {name}={label}")
            index += 1

    # Query parameters: declared by the handler, in the OpenAPI schema, or fields of GET forms.
    api = await openapi_parameters(run.client)
    forms = []
    for route in routes:
        url = base_url(route, run.ids)
        if route.method == "GET":
            response = await run.client.get(url, follow_redirects=False)
            if response.status_code >= 500:
                run.failures.append(f"{response.status_code} GET {url} [plain]")
            elif response.headers.get("content-type", "").startswith("text/html"):
                forms += read_forms(url, response.text)
        names = dict.fromkeys([*query_names(app, route), *api.get(route.path, [])])
        for name in names:
            for label, value in values_for(index, in_url=True).items():
                await run.send(route.method, base_url(route, run.ids, **{name: value}), f"query {name}={label}")
            plain = base_url(route, run.ids, **{name: "LONE"}).replace("LONE", LONE_SURROGATE_QUERY)
            await run.send(route.method, plain, f"query {name}=lone surrogate")
            index += 1

    # Form fields: each field of each rendered form gets every value, the others keep theirs.
    seen = set()
    for form in forms:
        if logged_in and form.action.startswith(SESSION_ENDING):
            continue
        key = (form.action, form.method, tuple(form.names))
        if key in seen:
            continue
        seen.add(key)
        for name in form.names:
            # NUL after a plausible value too, so it passes the checks before the database
            # (an address with an @, the default a form shows).
            plausible = dict(form.fields).get(name) or PLAUSIBLE.get(name, "fuzz@example.com")
            values = values_for(index, in_url=form.method == "GET") | {"nul-after-value": plausible + "\x00"}
            for label, value in values.items():
                data = form.with_value(name, value)
                if form.method == "GET":
                    await run.send("GET", f"{form.action}?{query(data)}", f"form {form.page} {name}={label}")
                else:
                    await run.send("POST", form.action, f"form {form.page} {name}={label}", data)
            index += 1

    # POST routes no page renders a form for: each value as an unexpected field.
    posted = {form.action for form in forms}
    for route in routes:
        if route.method == "POST" and base_url(route, run.ids) not in posted:
            for label, value in ALWAYS.items():
                await run.send("POST", base_url(route, run.ids), f"body x={label}", [("x", value), ("name", value)])


def _path_quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="") or "%20"


async def real_ids(sessions, alice) -> dict[str, int]:
    async with sessions() as session:
        instance = (await session.execute(select(Instance.id).where(Instance.user_id == alice.user_id))).scalar()
        template = (await session.execute(select(DeploymentTemplate.id))).scalar()
        alert = (await session.execute(select(PriceAlert.id))).scalar()
    return {"instance_id": instance or 1, "template_id": template or 1, "alert_id": alert or 1,
            "binding_id": alice.binding_id}


async def offer_id(sessions) -> int:
    async with sessions() as session:
        return (await session.execute(select(Offer.id).where(Offer.source == "sandbox").order_by(Offer.id))).scalar()


async def test_no_input_logged_out_is_a_server_error(app, sessions, cloud):
    await sandbox_offers(sessions)
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=app) as client:
        run = Run(Browser(client), {})
        await fuzz(app, run, logged_in=False)
    assert not run.failures, run.report()


async def test_no_input_logged_in_is_a_server_error(app, sessions, cloud, clock, alice, as_alice):
    await sandbox_offers(sessions)
    offer = await offer_id(sessions)
    # Something of each kind to point the {…_id} routes at: a deployment, a template, an alert.
    await as_alice.post("/console/launch", {"offer": offer, "binding_id": alice.binding_id, "name": "fuzz-box"})
    clock.advance(30)
    await as_alice.post("/console/templates", {"name": "fuzz", "provider": "sandbox", "instance_type": "sbx.h100.1x",
                                               "region": "sandbox-eu-1"})
    await as_alice.post("/settings/notifications/alerts", {"gpu": "h100", "max_price": "3"})
    run = Run(as_alice, await real_ids(sessions, alice) | {"offer": offer})
    await fuzz(app, run, logged_in=True)
    assert (await as_alice.get("/console", follow_redirects=False)).status_code == 200, "the run logged itself out"
    assert not run.failures, run.report()
