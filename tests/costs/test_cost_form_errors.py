"""``/costs`` with a bad date range: the costs page again (400), the dates as typed in their fields,
the message next to the bad one; the CSV link answers plain text, never HTML (issue 11 item 5)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.costs.support import add_instance, make_user
from tests.web.html import Node, parse_html

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)


@pytest.fixture
async def alice(sessions, keyring):
    user = await make_user(sessions, keyring, "alice@example.com", "Alice", "Europe/Berlin")
    await add_instance(sessions, user, "gpu-1", [(datetime(2026, 11, 2, 8, tzinfo=timezone.utc), "running", "2.40")],
                       provider="runpod")
    return user


def message_for(doc: Node, control: Node) -> str:
    assert control.get("aria-invalid") == "true"
    message = doc.one(id=control.get("aria-describedby"))
    assert message.parent is control.parent  # in the same label, right after the input
    return message.text


async def test_a_bad_date_keeps_every_input_and_says_what_is_wrong(alice, login, freeze):
    freeze(NOW)
    browser = await login("alice@example.com")
    response = await browser.get("/costs?from=yesterday&to=2026-11-07&provider=runpod")
    assert response.status_code == 400
    doc = parse_html(response.text)
    assert doc.one("h1").text == "Costs" and doc.find("section", class_="error-page") is None
    start = doc.one("input", name="from")
    assert start.get("value") == "yesterday"
    assert "from: expected a date like 2026-11-02, got 'yesterday'" in message_for(doc, start)
    assert doc.one("div", class_="error-summary").get("role") == "alert"
    assert doc.one("input", name="to").get("value") == "2026-11-07"
    assert doc.one("input", name="to").get("aria-invalid") is None
    assert doc.one("select", name="provider").one("option", value="runpod").get("selected") is not None


async def test_an_inverted_range_keeps_both_dates(alice, login, freeze):
    freeze(NOW)
    browser = await login("alice@example.com")
    response = await browser.get("/costs?from=2026-11-10&to=2026-11-01&gpu=nosuchgpu")
    assert response.status_code == 400
    doc = parse_html(response.text)
    start, end = doc.one("input", name="from"), doc.one("input", name="to")
    assert (start.get("value"), end.get("value")) == ("2026-11-10", "2026-11-01")
    assert "the start date is after the end date" in message_for(doc, start)
    gpu = doc.one("select", name="gpu")
    assert gpu.one("option", value="nosuchgpu").get("selected") is not None
    assert "unknown GPU 'nosuchgpu'" in message_for(doc, gpu)


@pytest.mark.parametrize("query, message", [
    ("from=yesterday", "from: expected a date like 2026-11-02, got 'yesterday'"),
    ("from=2026-11-10&to=2026-11-01", "from: the start date is after the end date"),
    ("to=2026-02-30", "to: expected a date"),
])
async def test_the_csv_link_with_bad_dates_answers_plain_text(alice, login, freeze, query, message):
    freeze(NOW)
    browser = await login("alice@example.com")
    response = await browser.get(f"/costs/export.csv?{query}")
    assert response.status_code == 400
    assert not response.headers["content-type"].startswith("text/html")
    assert response.headers["content-type"].startswith("text/plain")
    assert "<" not in response.text and message in response.text
    assert "content-disposition" not in response.headers  # not saved as a .csv
