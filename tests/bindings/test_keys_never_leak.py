"""A provider key appears nowhere but in its ciphertext: not in any log record (every logger at
DEBUG), not on stdout/stderr, not in any response body or header, not in the database or the
session store. Exercised while binding, checking, failing to check, and using keys."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import httpx
import pytest
import respx
from sqlalchemy import select

from app.console.instances import LaunchSpec, launch
from app.console.sync import sync_binding
from app.db.base import Base
from app.db.models import ProviderBinding
from app.security.keyring import binding_aad, keyring_from_settings
from providers.http import new_client
from providers.sandbox import generate_api_key
from tests.bindings.helpers import add_key, bindings_of, shown_status

LAMBDA_INSTANCES = "https://cloud.lambda.ai/api/v1/instances"
# Lambda's documented error envelope for a refused key (global/invalid-api-key, HTTP 401).
LAMBDA_REFUSED = {"error": {"code": "global/invalid-api-key", "message": "API key was invalid, expired, or deleted.",
                            "suggestion": "Check your API key or create a new one, then try again."}}


@dataclass
class Witness:
    """Everything the app let out during the test."""

    responses: list[str] = field(default_factory=list)

    async def record(self, response: httpx.Response) -> None:
        await response.aread()
        head = "\n".join(f"{k}: {v}" for k, v in response.headers.multi_items())
        self.responses.append(f"{response.request.method} {response.request.url} -> {response.status_code}\n"
                              f"{head}\n\n{response.text}")


@pytest.fixture
def every_log(caplog):
    """Every logger at DEBUG, including the ones that do not propagate to the root logger."""
    caplog.set_level(logging.DEBUG)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            caplog.set_level(logging.DEBUG, logger=name)
            if not logger.propagate:
                logger.addHandler(caplog.handler)
    yield caplog
    for logger in logging.root.manager.loggerDict.values():
        if isinstance(logger, logging.Logger) and caplog.handler in logger.handlers:
            logger.removeHandler(caplog.handler)


def everything_logged(caplog) -> str:
    parts = [caplog.text]
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.__dict__))  # args, extra fields, exception info
    return "\n".join(parts)


async def database_dump(sessions) -> str:
    rows = []
    async with sessions() as session:
        for table in Base.metadata.sorted_tables:
            rows += [repr(row) for row in (await session.execute(select(table))).all()]
    return "\n".join(rows)


def store_dump(app) -> str:
    # The sessions' memory store; the throttle counters are in the database (database_dump).
    return "\n".join(repr(obj.data) for obj in app.stores.get("sessions")._store.values())


async def test_provider_keys_appear_only_as_ciphertext(app, ada, sessions, settings, every_log, capfd):
    witness = Witness()
    ada.browser.http.event_hooks["response"].append(witness.record)
    sandbox_key = generate_api_key()
    refused_key = "lambda_refused_" + "R7x9" * 8
    accepted_key = "lambda_accepted_" + "Q3w5" * 8
    keys = {"sandbox": sandbox_key, "refused Lambda": refused_key, "accepted Lambda": accepted_key}

    with respx.mock(assert_all_mocked=True) as lambda_api:
        refused = lambda_api.get(LAMBDA_INSTANCES, headers={"Authorization": f"Bearer {refused_key}"}).mock(
            return_value=httpx.Response(401, json=LAMBDA_REFUSED))
        accepted = lambda_api.get(LAMBDA_INSTANCES, headers={"Authorization": f"Bearer {accepted_key}"}).mock(
            return_value=httpx.Response(200, json={"data": []}))

        # Bind: one working sandbox key, one key Lambda refuses (not stored), one it accepts; check them again.
        await add_key(ada.browser, "sandbox", sandbox_key, label="Sandbox")
        await add_key(ada.browser, "lambdalabs", refused_key, label="Lambda old")
        await add_key(ada.browser, "lambdalabs", accepted_key, label="Lambda new")
        sandbox_row, accepted_row = await bindings_of(sessions, ada.user_id)  # the refused key was not stored
        for row in (sandbox_row, accepted_row):
            await ada.browser.submit("/settings/providers", f"/settings/providers/{row.id}/verify")
        # Form errors with a key typed in must not echo it either.
        await add_key(ada.browser, "lambdalabs", accepted_key, label="Lambda new")  # name taken
        await add_key(ada.browser, "sandbox", sandbox_key + " x", label="Spaced")  # malformed

        assert refused.call_count == 1 and accepted.call_count == 2  # the keys really were sent

    # Use the sandbox key: launch and sync through the console's services.
    ring = keyring_from_settings(settings)
    async with new_client() as http:
        await launch(app.state.sessions, ring, http, ada.user_id,
                     LaunchSpec(binding_id=sandbox_row.id, name="leak-check", instance_type="sbx.rtx4090.1x",
                                region="sandbox-eu-1"))
        report = await sync_binding(app.state.sessions, ring, http, sandbox_row.id)
    assert report.error is None

    page = await ada.browser.get("/settings/providers")
    assert [shown_status(page.text, r.id) for r in (sandbox_row, accepted_row)] == ["verified", "verified"]
    assert len(every_log.records) > 0  # the capture works: there were log records to search

    out, err = capfd.readouterr()
    places = {
        "log records": everything_logged(every_log),
        "stdout": out,
        "stderr": err,
        "responses": "\n".join(witness.responses),
        "database": await database_dump(sessions),
        "session store": store_dump(app),
    }
    for what, secret in keys.items():
        for place, text in places.items():
            assert secret not in text, f"the {what} key leaked into {place}"

    # In the database it exists as ciphertext only, decryptable for its owner.
    async with sessions() as session:
        rows = (await session.execute(select(ProviderBinding).order_by(ProviderBinding.id))).scalars().all()
    stored = [json.loads(ring.decrypt(r.key_ciphertext, binding_aad(r.user_id, r.provider)))["api_key"] for r in rows]
    assert stored == [sandbox_key, accepted_key]
