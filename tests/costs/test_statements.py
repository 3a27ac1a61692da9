"""Monthly statements: the page, the CSV and the PDF agree to the cent with hand-computed amounts, a
month is the user's local month, a month in progress says so, and nobody sees another user's costs."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from app.costs import statement_pages
from app.costs.accrual import accrue_costs
from tests.conftest import IN_CI
from tests.costs.support import add_instance, amount, csv_rows, make_user, set_time_zone
from tests.web.html import Node

UTC = timezone.utc
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
"""Wednesday 2 December 2026, 11:00 in Berlin: December is in progress."""


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
async def fleet(sessions, keyring, monkeypatch):
    monkeypatch.setattr(statement_pages, "utcnow", lambda: NOW)
    alice = await make_user(sessions, keyring, "alice@example.com", "Alice", "Europe/Berlin")
    bob = await make_user(sessions, keyring, "bob@example.com", "Bob", "Europe/Berlin")
    # Berlin's November runs from Oct 31 23:00 UTC to Nov 30 23:00 UTC (CET, no daylight saving).
    await add_instance(sessions, alice, "edge", [  # 1 h in Berlin's October, 30 min in its November, at $2.00
        (at(10, 31, 22), "running", "2.00"), (at(10, 31, 23, 30), "stopped", "2.00")])
    await add_instance(sessions, alice, "trainer", [  # 48 h at $1.10 = $52.80
        (at(11, 10), "running", "1.10"), (at(11, 12), "terminated", "1.10")], provider="lambdalabs", gpu="a100-sxm-80gb")
    await add_instance(sessions, alice, "repriced", [  # 1 h at $2.69 + 2 h at $2.99 = $8.67
        (at(11, 20, 9), "running", "2.69"), (at(11, 20, 10), "running", "2.99"), (at(11, 20, 12), "stopped", "2.99")],
        provider="runpod")
    await add_instance(sessions, alice, "=cmd|calc", [  # 1 h in November, then 35 h of December so far, at $1.00
        (at(11, 30, 22), "running", "1.00")])
    await add_instance(sessions, bob, "bobs-secret-box", [(at(11, 5), "running", "9.99"), (at(11, 6), "stopped", "9.99")],
                       provider="hyperstack", gpu="h100-pcie")
    await accrue_costs(sessions, now=NOW)
    return alice, bob


NOVEMBER = Decimal("1.00") + Decimal("52.80") + Decimal("8.67") + Decimal("1.00")


def tables(doc: Node) -> dict[str, dict[str, Decimal]]:
    return {table.get("data-table"): {row.get("data-key"): amount(row) for row in table.one("tbody").find_all("tr")
                                      if row.get("data-key")}
            for table in doc.find_all("table", class_="statement-table")}


async def test_a_month_by_provider_gpu_and_deployment(fleet, login):
    browser = await login("alice@example.com")
    doc = await browser.page("/costs/statements/2026-11")

    assert amount(doc.one(class_="statement-total")) == NOVEMBER == Decimal("63.47")
    by = tables(doc)
    assert by["provider"] == {"lambdalabs": Decimal("52.80"), "runpod": Decimal("8.67"), "sandbox": Decimal("2.00")}
    assert by["gpu"] == {"a100-sxm-80gb": Decimal("52.80"), "h100-sxm": Decimal("10.67")}
    assert sorted(by["deployment"].values()) == [Decimal("1.00"), Decimal("1.00"), Decimal("8.67"), Decimal("52.80")]
    for table in by.values():
        assert sum(table.values()) == NOVEMBER
    assert "month in progress" not in doc.text
    assert "2026-11-01 to 2026-11-30 (Europe/Berlin time)" in doc.text
    assert "bobs-secret-box" not in doc.text and "9.99" not in doc.text


async def test_the_month_follows_the_users_time_zone(fleet, login, sessions):
    alice, _ = fleet
    await set_time_zone(sessions, alice, "UTC")
    browser = await login("alice@example.com")
    # In UTC the edge deployment's 90 minutes are all October's, and November ends an hour later.
    november = await browser.page("/costs/statements/2026-11")
    assert amount(november.one(class_="statement-total")) == NOVEMBER - Decimal("1.00") + Decimal("1.00")
    assert sorted(tables(november)["deployment"].values()) == [Decimal("2.00"), Decimal("8.67"), Decimal("52.80")]
    assert amount((await browser.page("/costs/statements/2026-10")).one(class_="statement-total")) == Decimal("3.00")


async def test_a_month_in_progress_says_so(fleet, login):
    doc = await (await login("alice@example.com")).page("/costs/statements/2026-12")
    assert amount(doc.one(class_="statement-total")) == Decimal("35.00")
    assert "month in progress" in doc.text
    assert not doc.find("a", href="/costs/statements/2027-01")


async def test_the_csv_sums_to_the_statement_and_keeps_names_as_text(fleet, login):
    browser = await login("alice@example.com")
    response = await browser.get("/costs/statements/2026-11/statement.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert 'filename="computehub-statement-2026-11.csv"' in response.headers["content-disposition"]
    rows = csv_rows(response.text)
    assert sum(Decimal(r["amount_usd"]) for r in rows) == NOVEMBER
    assert sum(Decimal(r["hours"]) for r in rows) == Decimal("52.5")
    assert {r["deployment"] for r in rows} == {"edge", "trainer", "repriced", "'=cmd|calc"}
    assert all(r["month"] == "2026-11" for r in rows)


def pdf_text(document: bytes, tmp_path) -> str:
    if not shutil.which("pdftotext"):
        if IN_CI:
            pytest.fail("pdftotext (poppler-utils) is missing: .ci/run installs it")
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "statement.pdf"
    path.write_bytes(document)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


async def test_the_pdf_carries_the_same_figures(fleet, login, tmp_path):
    response = await (await login("alice@example.com")).get("/costs/statements/2026-11/statement.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    text = pdf_text(response.content, tmp_path)
    assert "Statement for November 2026" in text
    assert "$63.47" in text and "$52.80" in text and "$8.67" in text
    assert "Lambda" in text and "RunPod" in text and "=cmd|calc" in text
    assert "alice@example.com" in text and "bobs-secret-box" not in text


async def test_the_list_shows_recent_months_back_to_the_first_cost(fleet, login):
    doc = await (await login("alice@example.com")).page("/costs/statements")
    months = {row.get("data-month"): amount(row) for row in doc.one("table", class_="statement-list").one("tbody").find_all("tr")}
    assert months == {"2026-12": Decimal("35.00"), "2026-11": NOVEMBER, "2026-10": Decimal("2.00")}
    assert "so far" in doc.one("tr", data_month="2026-12").text


async def test_a_user_without_costs_gets_an_empty_statement(sessions, keyring, login, monkeypatch):
    monkeypatch.setattr(statement_pages, "utcnow", lambda: NOW)
    await make_user(sessions, keyring, "new@example.com", "New")
    browser = await login("new@example.com")
    doc = await browser.page("/costs/statements/2026-11")
    assert amount(doc.one(class_="statement-total")) == 0 and "No costs in this month." in doc.text
    rows = (await browser.page("/costs/statements")).one("table", class_="statement-list").one("tbody").find_all("tr")
    assert [r.get("data-month") for r in rows] == ["2026-12"]


async def test_another_users_statement_holds_only_their_costs(fleet, login):
    bob = await login("bob@example.com")
    doc = await bob.page("/costs/statements/2026-11")
    assert amount(doc.one(class_="statement-total")) == Decimal("9.99") * 24
    assert "trainer" not in doc.text and "alice@example.com" not in doc.text
    assert {r["deployment"] for r in csv_rows((await bob.get("/costs/statements/2026-11/statement.csv")).text)} == {
        "bobs-secret-box"}


@pytest.mark.parametrize("month, message", [
    ("2026-13", "expected a month like 2026-11"), ("november", "expected a month like 2026-11"),
    ("2026-1", "expected a month like 2026-11"), ("2027-01", "January 2027 has not begun yet"),
    ("1999-12", "choose a month between 2000-01 and 2199-12"),
])
async def test_bad_months_are_a_400_with_the_reason(fleet, login, month, message):
    browser = await login("alice@example.com")
    for url in (f"/costs/statements/{month}", f"/costs/statements?month={month}"):
        response = await browser.get(url)
        assert response.status_code == 400 and message in response.text, (url, response.text[:300])
    for name in ("statement.csv", "statement.pdf"):
        response = await browser.get(f"/costs/statements/{month}/{name}")
        assert response.status_code == 400 and message in response.text
        assert response.headers["content-type"].startswith("text/plain")


async def test_the_month_field_opens_that_month(fleet, login):
    response = await (await login("alice@example.com")).get("/costs/statements?month=2026-10", follow_redirects=False)
    assert response.status_code in (302, 303) and response.headers["location"] == "/costs/statements/2026-10"
