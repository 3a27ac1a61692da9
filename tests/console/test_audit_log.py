"""The audit log as a user meets it: what they do in the console is on /settings/activity with the
address and browser it came from, filterable and exportable, never another user's; and
``computehub audit verify`` tells an intact log from a tampered one."""

from __future__ import annotations

import asyncio
import csv
import io

from click.testing import CliRunner
from sqlalchemy import select, update

from app.cli.main import cli
from app.console.instances import perform
from app.console.sync import sync_binding
from app.db.models import AuditEvent
from app.settings import get_settings
from tests.console.conftest import PASSWORD, Browser
from tests.console.test_pages import deploy

BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AuditTest/1.0"


async def actions(sessions, user_id: int) -> list[str]:
    async with sessions() as session:
        return list((await session.execute(select(AuditEvent.action).where(AuditEvent.workspace == f"user:{user_id}")
                                           .order_by(AuditEvent.seq))).scalars())


def table_actions(doc) -> list[str]:
    table = doc.find("table", class_="activity-log")
    return [tr.get("data-action") for tr in table.one("tbody").find_all("tr")] if table else []


async def test_what_a_user_does_is_logged_with_where_it_came_from(app, sessions, keyring, http, cloud, clock, alice, bob):
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=app) as client:
        client.headers["user-agent"] = BROWSER_UA
        browser = Browser(client)
        refused = await browser.post("/login", {"email": alice.email, "password": "not it"})
        assert refused.status_code == 400
        assert (await browser.post("/login", {"email": alice.email, "password": PASSWORD})).status_code == 200
        instance_id = await deploy(sessions, keyring, http, alice, "audited-box")
        clock.advance(21)
        await sync_binding(sessions, keyring, http, alice.binding_id)
        stop = await browser.post(f"/console/instances/{instance_id}/actions/stop", {"confirm": "yes"})
        assert stop.status_code < 400, stop.text[:300]
        saved = await browser.post("/settings/notifications/budget", {"monthly_budget": "250"})
        assert saved.status_code < 400, saved.text[:300]

        assert await actions(sessions, alice.user_id) == [
            "key.added", "auth.sign_in_failed", "auth.sign_in", "instance.launch", "instance.stop", "budget.changed"]
        doc = await browser.page("/settings/activity")
        assert table_actions(doc) == ["budget.changed", "instance.stop", "instance.launch", "auth.sign_in",
                                      "auth.sign_in_failed", "key.added"]  # newest first
        budget_row = doc.one("tr", data_action="budget.changed")
        assert "monthly_amount:" in budget_row.text and "none → 250" in budget_row.text
        assert alice.email in budget_row.text and BROWSER_UA[:60] in budget_row.text
        launch_row = doc.one("tr", data_action="instance.launch")
        assert "audited-box" in launch_row.text and f"key: {alice.binding_id}" in launch_row.text

        async with sessions() as session:
            stopped = (await session.execute(select(AuditEvent).where(AuditEvent.action == "instance.stop"))).scalar_one()
        # Done through the page: the request's address, browser and id are on the event.
        assert (stopped.address, stopped.user_agent, len(stopped.request_id)) == ("testclient", BROWSER_UA, 32)  # the test client's peer name
        assert stopped.before["status"] == "running" and stopped.after["status"] == "stopping"
        # Done by a service call outside any request (the test's own launch): no origin is invented.
        async with sessions() as session:
            launched = (await session.execute(select(AuditEvent).where(AuditEvent.action == "instance.launch"))).scalar_one()
        assert launched.address == "" and launched.after["key"] == alice.binding_id

        only_keys = await browser.page("/settings/activity?kind=key")
        assert table_actions(only_keys) == ["key.added"]
        export = await browser.get("/settings/activity/export.csv?kind=instance")
        assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(export.text)))
        assert [r["action"] for r in rows] == ["instance.launch", "instance.stop"]  # oldest first
        assert all(len(r["hash"]) == 64 for r in rows) and rows[1]["prev_hash"] == rows[0]["hash"]

    # Bob's own log has his key only; Alice's events are not his to see.
    assert await actions(sessions, bob.user_id) == ["key.added"]


async def test_a_bad_filter_is_a_400_with_the_inputs_kept(as_alice):
    response = await as_alice.get("/settings/activity?kind=everything&from=2026-13-01")
    assert response.status_code == 400
    assert 'data-field-error="kind"' in response.text and 'data-field-error="from"' in response.text
    assert 'value="2026-13-01"' in response.text
    csv_response = await as_alice.get("/settings/activity/export.csv?to=yesterday")
    assert csv_response.status_code == 400 and csv_response.headers["content-type"].startswith("text/plain")


async def test_deleting_an_instance_and_a_template_is_logged(as_alice, sessions, keyring, http, cloud, clock, alice):
    instance_id = await deploy(sessions, keyring, http, alice, "short-lived")
    clock.advance(21)
    await sync_binding(sessions, keyring, http, alice.binding_id)
    await perform(sessions, keyring, http, alice.user_id, instance_id, "delete")
    saved = await as_alice.post(f"/console/templates/from-instance/{instance_id}", {"name": "my shape"})
    assert saved.status_code < 400
    async with sessions() as session:
        template_id = (await session.execute(select(AuditEvent.target_id).where(
            AuditEvent.action == "template.created"))).scalar_one()
    assert (await as_alice.post(f"/console/templates/{template_id}/delete")).status_code < 400
    assert (await actions(sessions, alice.user_id))[-4:] == [
        "instance.launch", "instance.delete", "template.created", "template.deleted"]


async def test_audit_verify_command(sessions, alice, monkeypatch, database_url):
    async def verify() -> tuple[int, str]:
        monkeypatch.setenv("COMPUTEHUB_DATABASE_URL", database_url)
        get_settings.cache_clear()
        try:
            result = await asyncio.to_thread(CliRunner().invoke, cli, ["audit", "verify"])
        finally:
            get_settings.cache_clear()
        return result.exit_code, result.output

    code, output = await verify()
    assert code == 0 and "audit log intact: 1 events in 1 workspaces" in output
    async with sessions() as session, session.begin():
        await session.execute(update(AuditEvent).values(after={"provider": "sandbox", "label": "renamed quietly"}))
    code, output = await verify()
    assert code == 1 and f"user:{alice.user_id} event 1: was changed after it was written" in output
