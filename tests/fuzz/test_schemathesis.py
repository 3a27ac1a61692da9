"""schemathesis against the app's own OpenAPI schema (/schema/openapi.json): every operation,
valid and invalid inputs it generates from the schema, logged out and with a logged-in user's
session, on SQLite and PostgreSQL; no answer may be a server error (``not_a_server_error``).

Cases are generated with hypothesis first and sent through the in-process async test client
afterwards: the app's database engine lives on the test's event loop, which a threaded ASGI
transport would not share.
"""

from __future__ import annotations

import json
import os
import time

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from litestar.testing import AsyncTestClient
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from tests.console.conftest import sandbox_offers

EXAMPLES_PER_OPERATION = 25
SESSION_ENDING = ("/logout",)  # logged in, the run needs its session (logout is run logged out)
_generated: dict[str, list] = {}


def generated_cases(document: dict, examples: int = EXAMPLES_PER_OPERATION) -> list:
    """A bounded, reproducible set of cases per operation, valid and invalid; generated once per
    schema (the slow part) and sent by every run, logged out and in, on each database."""
    key = json.dumps(document, sort_keys=True)
    if key in _generated:
        return _generated[key]
    schema = schemathesis.openapi.from_dict(document)
    cases = _generated[key] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @hypothesis.settings(max_examples=examples, phases=[Phase.explicit, Phase.generate], database=None,
                                 deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
            @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
            def collect(case) -> None:
                cases.append(case)

            try:
                collect()
            except hypothesis.errors.Unsatisfiable:  # no parameters: nothing to make invalid
                pass
    return cases


async def run_schemathesis(client, *, logged_in: bool, token: str | None = None,
                           only_under: str | None = None, statuses: list | None = None) -> tuple[int, list[str]]:
    cases = generated_cases((await client.get("/schema/openapi.json")).json())
    if logged_in:
        cases = [case for case in cases if case.operation.path not in SESSION_ENDING]
    if only_under:
        cases = [case for case in cases if case.operation.path.startswith(only_under)]
    failures = []
    # A logged-in browser sends its CSRF token with every form: so does each case (else all are 403).
    csrf = {"x-csrftoken": client.cookies["computehub_csrf"]} if "computehub_csrf" in client.cookies else {}
    for case in cases:
        kwargs = case.as_transport_kwargs(base_url="http://testserver.local", headers=csrf)
        if token:  # a script's token on every case, whatever header the generator made up
            kwargs["headers"] = {**{k: v for k, v in (kwargs.get("headers") or {}).items()
                                    if k.lower() != "authorization"}, "authorization": f"Bearer {token}"}
        body = {key: kwargs[key] for key in ("json", "data", "files") if kwargs.get(key) is not None}
        if isinstance(body.get("data"), (bytes, str)):
            body["content"] = body.pop("data")
        started = time.monotonic()
        response = await client.request(kwargs["method"], kwargs["url"], params=kwargs.get("params"),
                                        headers=kwargs.get("headers"), cookies=kwargs.get("cookies"),
                                        follow_redirects=False, **body)
        if statuses is not None:
            statuses.append(response.status_code)
        if os.environ.get("FUZZ_TIMING"):
            print(f"{time.monotonic() - started:.2f}s {response.status_code} {case.operation.label}")
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except Exception as failure:  # noqa: BLE001 - collected, all reported at the end
            failures.append(f"{case.as_curl_command(base_url='http://testserver.local')}\n    {failure}"[:600])
    return len(cases), failures


async def test_schemathesis_finds_no_server_error_logged_out(app, sessions, cloud):
    await sandbox_offers(sessions)
    async with AsyncTestClient(app=app) as client:
        sent, failures = await run_schemathesis(client, logged_in=False)
    assert sent > 100
    assert not failures, f"{len(failures)} of {sent} cases failed:\n" + "\n".join(failures[:20])


async def test_schemathesis_finds_no_server_error_logged_in(app, sessions, cloud, as_alice):
    await sandbox_offers(sessions)
    sent, failures = await run_schemathesis(as_alice.client, logged_in=True)  # alice's session cookie rides along
    assert (await as_alice.get("/console", follow_redirects=False)).status_code == 200
    assert not failures, f"{len(failures)} of {sent} cases failed:\n" + "\n".join(failures[:20])


async def test_schemathesis_finds_no_server_error_on_the_console_api_with_a_write_token(app, sessions, cloud, alice):
    """Every console API operation with a token that may change things: invalid input is a 4xx,
    never a 500 (the valid cases launch, act on and delete real sandbox deployments)."""
    from tests.console.test_console_api import token_for

    await sandbox_offers(sessions)
    token = await token_for(sessions, alice)
    async with AsyncTestClient(app=app) as client:
        document = (await client.get("/schema/openapi.json")).json()
        operations = {(method, path) for path, methods in document["paths"].items()
                      if path.startswith("/api/v1/console") for method in methods}
        statuses: list[int] = []
        sent, failures = await run_schemathesis(client, logged_in=False, token=token, only_under="/api/v1/console",
                                                statuses=statuses)
    assert 401 not in statuses and any(200 <= s < 300 for s in statuses)  # the token was taken, and some cases worked
    assert len(operations) >= 20 and sent > 20 * len(operations) // 2
    assert not failures, f"{len(failures)} of {sent} cases failed:\n" + "\n".join(failures[:20])
