"""``/costs`` as a user sees it: the cards, the chart, the table and the CSV agree to the micro-dollar
on the same data, filters narrow all of them alike, and nobody sees another user's costs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from app.costs.accrual import accrue_costs
from app.web.assets import static_url
from tests.costs.support import (
    add_instance, card, chart_points, csv_rows, daily_points, figure, make_user, table_amounts,
)
from tests.web.html import Node, parse_html

UTC = timezone.utc
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
"""Friday 20 November 2026, 16:00 in Berlin: the default range is Oct 22 - Nov 20 (Berlin days)."""


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
async def fleet(sessions, keyring):
    """Alice (Berlin) has five deployments on four providers; Bob has one, on the same days."""
    alice = await make_user(sessions, keyring, "alice@example.com", "Alice Liddell", "Europe/Berlin")
    bob = await make_user(sessions, keyring, "bob@example.com", "Bob", "Europe/Berlin")
    ids = {
        # the example: 90 min at $2.40, stopped 30, 15 more = $4.20 on Nov 2
        "gpu-1": await add_instance(sessions, alice, "gpu-1", [
            (at(11, 2, 8), "running", "2.40"), (at(11, 2, 9, 30), "stopped", "2.40"),
            (at(11, 2, 10), "running", "2.40"), (at(11, 2, 10, 15), "terminated", "2.40")]),
        # still running across Berlin midnights: 40.5 h at $1.10 = $44.55
        "trainer": await add_instance(sessions, alice, "trainer", [(at(11, 18, 22, 30), "running", "1.10")],
                                      provider="lambdalabs", gpu="a100-sxm-80gb"),
        # 1 h at $2.69, then 2 h at $2.99 = $8.67 (two rows that day: one per price)
        "repriced": await add_instance(sessions, alice, "repriced", [
            (at(11, 10, 9), "running", "2.69"), (at(11, 10, 10), "running", "2.99"),
            (at(11, 10, 12), "stopped", "2.99")], provider="runpod"),
        # every day of the range, still running: 639 h at $0.50 = $319.50
        "long-runner": await add_instance(sessions, alice, "long-runner", [(at(10, 25), "running", "0.50")],
                                          provider="vastai", gpu="rtx-4090"),
        # 20 days at $1.00 = $480.00
        "batch": await add_instance(sessions, alice, "batch", [
            (at(10, 26, 12), "provisioning", "1.00"), (at(11, 15, 12), "stopped", "1.00")]),
        "bobs-box": await add_instance(sessions, bob, "bobs-box", [(at(11, 1), "running", "9.99")],
                                       provider="hyperstack", gpu="h100-pcie"),
    }
    await accrue_costs(sessions, now=NOW)
    return alice, bob, ids


ALICE_TOTAL = Decimal("4.20") + Decimal("44.55") + Decimal("8.67") + Decimal("319.50") + Decimal("480.00")


async def costs_page(browser, query: str = "") -> Node:
    return await browser.page("/costs" + (f"?{query}" if query else ""))


async def all_table_amounts(browser, query: str = "") -> list[Decimal]:
    """Every page of the history table."""
    first = await costs_page(browser, query)
    amounts = table_amounts(first)
    page = 2
    while first.find("a", rel="next") and (doc := await costs_page(browser, f"{query}&page={page}".lstrip("&"))):
        amounts += table_amounts(doc)
        if not doc.find("a", rel="next"):
            break
        page += 1
    return amounts


async def export(browser, query: str = "") -> list[dict[str, str]]:
    response = await browser.get("/costs/export.csv" + (f"?{query}" if query else ""))
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return csv_rows(response.text)


async def test_cards_chart_table_and_csv_agree(fleet, login, freeze):
    freeze(NOW)
    browser = await login("alice@example.com")
    doc = await costs_page(browser)

    assert card(doc, "total") == ALICE_TOTAL == Decimal("856.92")  # the range: the last 30 Berlin days
    assert doc.one(class_="stat-card", data_card="total").one(class_="stat-note").text == "last 30 days"
    # November in Berlin starts at Oct 31 23:00 UTC: long-runner's first 167 h and batch's first 131 h are October's
    assert card(doc, "month") == ALICE_TOTAL - Decimal("0.50") * 167 - Decimal("1.00") * 131 == Decimal("642.42")
    # the ISO week from Monday Nov 16 00:00 Berlin: trainer's 40.5 h and long-runner's last 112 h
    assert card(doc, "week") == Decimal("44.55") + Decimal("56.00")
    assert card(doc, "burn") == Decimal("1.60")  # trainer $1.10 + long-runner $0.50

    points = daily_points(doc)
    assert len(points) == 30 and min(points) == "2026-10-22" and max(points) == "2026-11-20"
    assert chart_points(doc, "cost-trend-chart") == points
    assert sum(points.values()) == ALICE_TOTAL
    # Berlin days: the trainer started at 23:30 local on Nov 18
    assert points["2026-11-19"] == Decimal("26.40") + Decimal("12.00")  # trainer 24 h + long-runner 24 h
    assert points["2026-11-02"] == Decimal("4.20") + Decimal("12.00") + Decimal("24.00")

    rows = await all_table_amounts(browser)
    assert len(rows) == 27 + 21 + 1 + 3 + 2  # long-runner, batch, gpu-1, trainer, repriced (2 prices)
    assert sum(rows) == ALICE_TOTAL

    exported = await export(browser)
    assert len(exported) == len(rows)
    assert sum(Decimal(r["amount"]) for r in exported) == ALICE_TOTAL
    repriced = sorted((r["price_per_hour"], r["hours"], r["amount"]) for r in exported if r["instance"] == "repriced")
    assert repriced == [("2.690000", "1.0000", "2.690000"), ("2.990000", "2.0000", "5.980000")]


async def test_filters_narrow_everything_alike(fleet, login, freeze):
    freeze(NOW)
    browser = await login("alice@example.com")
    for query, expected in [
        ("provider=lambdalabs", Decimal("44.55")),
        ("provider=sandbox", Decimal("484.20")),
        ("gpu=h100-sxm", Decimal("4.20") + Decimal("8.67") + Decimal("480.00")),
        ("provider=sandbox&gpu=h100-sxm", Decimal("484.20")),
        ("provider=hyperstack", Decimal("0")),  # Bob's provider: nothing of Alice's there
    ]:
        doc = await costs_page(browser, query)
        assert card(doc, "total") == expected, query
        assert sum(chart_points(doc, "cost-trend-chart").values()) == expected, query
        assert sum(await all_table_amounts(browser, query)) == expected, query
        assert sum(Decimal(r["amount"]) for r in await export(browser, query)) == expected, query

    query = "from=2026-11-18&to=2026-11-19"
    doc = await costs_page(browser, query)
    expected = Decimal("0.55") + Decimal("26.40") + 2 * Decimal("12.00")  # trainer + long-runner
    assert daily_points(doc) == {"2026-11-18": Decimal("12.55"), "2026-11-19": Decimal("38.40")}
    assert card(doc, "total") == expected
    assert doc.one(class_="stat-card", data_card="total").one(class_="stat-note").text == "Nov 18 – Nov 19, 2026"
    assert sum(chart_points(doc, "cost-trend-chart").values()) == expected
    assert sum(table_amounts(doc)) == expected
    assert [(r["date"], r["instance"], r["amount"]) for r in await export(browser, query)] == [
        ("2026-11-19", "long-runner", "12.000000"), ("2026-11-19", "trainer", "26.400000"),
        ("2026-11-18", "long-runner", "12.000000"), ("2026-11-18", "trainer", "0.550000")]
    # the calendar cards keep their own periods
    assert card(doc, "week") == Decimal("100.55") and card(doc, "month") == Decimal("642.42")


async def test_the_split_by_gpu_and_by_provider(fleet, login, freeze):
    freeze(NOW)
    doc = await costs_page(await login("alice@example.com"))
    by_gpu = {r.get("data-label"): Decimal(r.get("data-amount"))
              for r in doc.one("table", data_split="gpu").find_all("tr")}
    assert by_gpu == {"H100 SXM 80GB": Decimal("492.87"), "RTX 4090 24GB": Decimal("319.50"),
                      "A100 SXM 80GB": Decimal("44.55")}
    by_provider = doc.one("table", data_split="provider").find_all("tr")
    assert sum(Decimal(r.get("data-amount")) for r in by_provider) == ALICE_TOTAL
    assert len(by_provider) == 4
    pie = figure(doc, "cost-gpu-chart")["data"][0]
    assert pie["type"] == "pie" and sum(Decimal(c) for c in pie["customdata"]) == ALICE_TOTAL
    bars = figure(doc, "cost-provider-chart")["data"][0]
    assert bars["type"] == "bar" and sum(Decimal(c) for c in bars["customdata"]) == ALICE_TOTAL


async def test_another_users_costs_never_show(fleet, login, freeze):
    freeze(NOW)
    bob = await login("bob@example.com")
    doc = await costs_page(bob)
    bobs = Decimal("9.99") * (19 * 24 + 15)  # all in the last 30 days
    assert card(doc, "total") == bobs
    assert sum(await all_table_amounts(bob)) == bobs
    assert {r["instance"] for r in await export(bob)} == {"bobs-box"}
    assert [o.get("value") for o in doc.one("select", name="provider").find_all("option")] == ["", "hyperstack"]

    alice = await login("alice@example.com")
    text = (await alice.get("/costs/export.csv?provider=hyperstack")).text
    assert "bobs-box" not in text and len(csv_rows(text)) == 0
    page = await alice.get("/costs")
    assert "bobs-box" not in page.text and "9.99" not in page.text


async def test_the_page_has_the_trend_figure_and_a_csv_link_with_the_same_filters(fleet, login, freeze):
    freeze(NOW)
    doc = await costs_page(await login("alice@example.com"), "provider=vastai&from=2026-11-01&to=2026-11-07")
    trace = figure(doc, "cost-trend-chart")["data"][0]
    assert trace["type"] == "bar" and [x[:10] for x in trace["x"]] == [f"2026-11-0{d}" for d in range(1, 8)]
    assert trace["y"] == [12.0] * 7
    assert doc.one("a", data_export="").get("href") == "/costs/export.csv?from=2026-11-01&to=2026-11-07&provider=vastai"
    assert doc.find("script", src=static_url("vendor/plotly.min.js")) is not None


@pytest.mark.parametrize("query, message", [
    ("from=yesterday", "from: expected a date"),
    ("to=2026-13-01", "to: expected a date"),
    ("from=2026-11-10&to=2026-11-01", "from: the start date is after the end date"),
    ("from=2024-01-01&to=2026-01-01", "at most 366 days"),
    ("from=1900-01-01", "from: choose a date between"),
    ("provider=nosuchcloud", "provider: unknown provider"),
    ("gpu=h9000", "gpu: unknown GPU"),
    ("page=0", "page: must be a whole number from 1 to 100000"),
    ("page=abc", "page"),
    ("page=3", "page: these filters give 2 pages"),
])
async def test_bad_filters_are_a_400_with_a_message(fleet, login, freeze, query, message):
    freeze(NOW)
    browser = await login("alice@example.com")
    response = await browser.get(f"/costs?{query}")
    assert response.status_code == 400
    assert message in parse_html(response.text).one("div", class_="error-summary").text
    if not query.startswith("page"):
        exported = await browser.get(f"/costs/export.csv?{query}")
        assert exported.status_code == 400 and message in exported.text
        assert exported.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("path", ["/costs", "/costs/export.csv", "/console/overview", "/settings/profile"])
async def test_anonymous_visitors_are_sent_to_log_in(app, sessions, path):
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=app) as client:
        response = await client.get(path, follow_redirects=False)
    assert response.status_code in (302, 303)
    assert response.headers["location"].startswith("/login?next=")


async def test_a_new_user_sees_zero_and_an_empty_history(sessions, keyring, login, freeze):
    freeze(NOW)
    await make_user(sessions, keyring, "new@example.com", "New")
    doc = await costs_page(await login("new@example.com"))
    assert [card(doc, k) for k in ("total", "month", "week", "burn")] == [Decimal(0)] * 4
    assert sum(daily_points(doc).values()) == 0 and len(daily_points(doc)) == 30
    assert table_amounts(doc) == []
    assert "No costs in this range" in doc.text
    assert await export(await login("new@example.com")) == []


async def test_costs_before_the_accrual_job_ran_are_not_invented(sessions, keyring, login, freeze):
    """The page shows what the job wrote; a fresh instance appears after the next run."""
    freeze(NOW)
    user = await make_user(sessions, keyring, "late@example.com", "Late")
    await add_instance(sessions, user, "fresh", [(NOW - timedelta(hours=2), "running", "3.00")])
    browser = await login("late@example.com")
    assert card(await costs_page(browser), "total") == 0
    assert card(await costs_page(browser), "burn") == Decimal("3.00")  # it is billed, the cost just isn't written yet
    await accrue_costs(sessions, now=NOW)
    assert card(await costs_page(browser), "total") == Decimal("6.00")


async def test_the_csv_export_is_compressed_for_a_client_that_accepts_it_and_reads_the_same(fleet, login, freeze):
    freeze(NOW)
    alice = await login("alice@example.com")
    plain = await alice.get("/costs/export.csv", headers={"Accept-Encoding": "identity"})
    for encoding in ("br", "gzip"):
        packed = await alice.get("/costs/export.csv", headers={"Accept-Encoding": encoding})
        assert packed.headers["content-encoding"] == encoding  # httpx decodes it back below
        assert packed.headers["content-disposition"] == plain.headers["content-disposition"]
        assert packed.text == plain.text and len(csv_rows(packed.text)) > 10
