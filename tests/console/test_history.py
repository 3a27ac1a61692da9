"""Deployment history (/console/history): deleted and failed deployments stay listed, the filters
narrow the list, another user's deployments never show, and a bad filter answers 400 with the
inputs kept and the message next to the field."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from app.console.instances import perform
from app.console.sync import sync_binding
from tests.console.test_pages import deploy
from tests.costs.support import add_instance

UTC = timezone.utc
DAY = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def names(doc) -> list[str]:
    table = doc.find("table", class_="deployment-history")
    return [tr.get("data-name") for tr in table.one("tbody").find_all("tr")] if table else []


async def test_a_deleted_deployment_is_in_the_history(as_alice, sessions, keyring, http, cloud, clock, alice):
    instance_id = await deploy(sessions, keyring, http, alice, "short-lived")
    clock.advance(21)
    await sync_binding(sessions, keyring, http, alice.binding_id)
    await perform(sessions, keyring, http, alice.user_id, instance_id, "delete")
    clock.advance(10)
    await sync_binding(sessions, keyring, http, alice.binding_id)

    listing = await as_alice.page("/console")
    assert listing.find("tr", data_name="short-lived") is None  # gone from the live list...
    assert listing.one("a", href="/console/history").text == "Deployment history"
    doc = await as_alice.page("/console/history")
    row = doc.one("tr", data_name="short-lived")  # ...kept here
    assert row.get("data-status") == "terminated"
    assert row.one("span", class_="status").text == "deleted"
    assert row.one("a").get("href") == f"/console/instances/{instance_id}"
    assert [td.text for td in row.find_all("td")][1:3] == ["Sandbox (simulated)", "1× H100 SXM 80GB"]
    assert all(cell.get("data-priority") for cell in row.find_all("td"))
    assert doc.one("table", class_="deployment-history").parent.get("class") == "table-scroll"
    detail = await as_alice.page(f"/console/instances/{instance_id}")
    assert detail.one(class_="page-head").one("span", class_="status").text == "terminated"


@pytest.fixture
async def past(sessions, alice, bob):
    """Alice: two deleted (sandbox H100 on Nov 10, Lambda A100 on Nov 12), one failed on Nov 11,
    one still running; Bob: one deleted."""
    gone = [("h100-job", "sandbox", "h100-sxm", DAY, "terminated"),
            ("a100-job", "lambdalabs", "a100-sxm-80gb", DAY + timedelta(days=2), "terminated"),
            ("broken", "sandbox", "h100-sxm", DAY + timedelta(days=1), "failed")]
    ids = {}
    for name, provider, gpu, end, state in gone:
        ids[name] = await add_instance(sessions, alice.user_id, name, [(end - timedelta(hours=3), "running", "2.00"),
                                                                       (end, state, "2.00")], provider=provider, gpu=gpu)
    ids["alive"] = await add_instance(sessions, alice.user_id, "alive", [(DAY, "running", "1.00")])
    ids["bobs-job"] = await add_instance(sessions, bob.user_id, "bobs-job", [(DAY - timedelta(hours=1), "running", "1.00"),
                                                                             (DAY, "terminated", "1.00")])
    return ids


async def test_the_filters_narrow_the_history(as_alice, past):
    assert names(await as_alice.page("/console/history")) == ["a100-job", "broken", "h100-job"]  # newest end first
    doc = await as_alice.page("/console/history")
    assert doc.one("tr", data_name="h100-job").find_all("td")[7].text == "3 h"  # how long it lasted
    assert {o.get("value") for o in doc.one("select", name="provider").find_all("option")} == {"", "sandbox", "lambdalabs"}

    assert names(await as_alice.page("/console/history?provider=lambdalabs")) == ["a100-job"]
    assert names(await as_alice.page("/console/history?gpu=h100-sxm")) == ["broken", "h100-job"]
    assert names(await as_alice.page("/console/history?state=failed")) == ["broken"]
    assert names(await as_alice.page("/console/history?state=terminated&gpu=h100-sxm")) == ["h100-job"]
    assert names(await as_alice.page("/console/history?from=2026-11-11&to=2026-11-11")) == ["broken"]
    assert names(await as_alice.page("/console/history?from=2026-11-11")) == ["a100-job", "broken"]
    assert names(await as_alice.page("/console/history?to=2026-11-10")) == ["h100-job"]
    empty = await as_alice.page("/console/history?provider=runpod")
    assert names(empty) == [] and "No deleted or failed deployment matches" in empty.text
    kept = await as_alice.page("/console/history?provider=lambdalabs&from=2026-11-01")
    assert kept.one("select", name="provider").one("option", selected="").get("value") == "lambdalabs"
    assert kept.one("input", name="from").get("value") == "2026-11-01"


async def test_another_users_history_is_not_visible(as_bob, past):
    assert names(await as_bob.page("/console/history")) == ["bobs-job"]
    assert names(await as_bob.page("/console/history?provider=lambdalabs")) == []
    for name in ("h100-job", "a100-job", "broken"):
        response = await as_bob.get(f"/console/instances/{past[name]}")
        assert response.status_code == 404 and name not in response.text


@pytest.mark.parametrize("query, field", [
    ("from=yesterday&provider=sandbox", "from"),
    ("to=2026-13-01", "to"),
    ("from=2026-11-12&to=2026-11-10", "from"),
    ("provider=nosuchcloud", "provider"),
    ("gpu=h9000", "gpu"),
    ("state=running", "state"),
    ("page=abc", "page"),
    ("page=0", "page"),
])
async def test_a_bad_filter_is_a_400_that_keeps_the_inputs(as_alice, past, query, field):
    doc = await as_alice.page(f"/console/history?{query}", status=400)
    error = doc.one(class_="field-error", data_error_for=field)
    assert error.text
    assert doc.one("form", class_="history-filters") is not None
    if field in ("from", "to"):
        typed = dict(p.split("=") for p in query.split("&"))[field]
        assert doc.one("input", name=field).get("value") == typed
        assert doc.one("input", name=field).get("aria-invalid") == "true"
    if field in ("provider", "gpu", "state"):
        typed = dict(p.split("=") for p in query.split("&"))[field]
        assert doc.one("select", name=field).one("option", selected="").get("value") == typed
    if "provider=sandbox" in query:
        assert doc.one("select", name="provider").one("option", selected="").get("value") == "sandbox"
    assert names(doc) == []
