"""The console overview: welcome, the cards, quick actions, the latest deployments, the week's cost,
and the getting-started steps for an account without a key or a deployment."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from app.costs.accrual import accrue_costs
from tests.costs.support import add_instance, card, chart_points, daily_points, make_user

UTC = timezone.utc
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


async def overview(login, freeze, email: str):
    freeze(NOW)
    return await (await login(email)).page("/console/overview")


async def test_overview_of_a_busy_account(sessions, keyring, login, freeze):
    user = await make_user(sessions, keyring, "ada@example.com", "Ada Lovelace", "Europe/Berlin")
    other = await make_user(sessions, keyring, "eve@example.com", "Eve")
    for i in range(6):  # one a day; the first five are gone now
        start = NOW - timedelta(days=6 - i, hours=1)
        events = [(start, "running", "1.00"), (start + timedelta(hours=2), "terminated", "1.00")]
        await add_instance(sessions, user, f"job-{i}", events)
    await add_instance(sessions, user, "trainer", [(NOW - timedelta(hours=3), "provisioning", "2.50"),
                                                   (NOW - timedelta(hours=2), "running", "2.50")],
                       provider="lambdalabs", gpu="a100-sxm-80gb")
    await add_instance(sessions, user, "paused", [(NOW - timedelta(days=1), "running", "1.00"),
                                                  (NOW - timedelta(days=1) + timedelta(hours=1), "stopped", "1.00")])
    await add_instance(sessions, other, "eves-box", [(NOW - timedelta(hours=5), "running", "9.00")])
    await accrue_costs(sessions, now=NOW)

    doc = await overview(login, freeze, "ada@example.com")
    assert doc.one("h1").text == "Welcome, Ada Lovelace"
    assert doc.one(class_="stat-card", data_card="running").get("data-count") == "1"  # the trainer
    assert doc.one(class_="stat-card", data_card="stopped").get("data-count") == "1"  # paused
    assert doc.one(class_="stat-card", data_card="deployments").get("data-count") == "8"
    month = Decimal("12.00") + Decimal("7.50") + Decimal("1.00")  # six 2-hour jobs, trainer 3 h, paused 1 h
    assert card(doc, "month") == month
    assert "2.50" in doc.one(class_="stat-card", data_card="running").text  # burning $2.50/h now

    names = [row.get("data-name") for row in doc.one("table", class_="recent-deployments").one("tbody").find_all("tr")]
    assert names == ["trainer", "paused", "job-5", "job-4", "job-3"]
    created = doc.one("tr", data_name="trainer").find("time")
    assert created.text == "2026-11-20 13:00 CET"  # shown in the user's time zone

    week = daily_points(doc)
    assert len(week) == 7 and max(week) == "2026-11-20" and min(week) == "2026-11-14"
    assert chart_points(doc, "overview-trend-chart") == week
    assert sum(week.values()) == Decimal(doc.one(class_="range-total").get("data-amount")) == month

    actions = {a.text: a.get("href") for a in doc.one("nav", class_="quick-actions").find_all("a")}
    assert actions == {"Launch a GPU": "/", "Compare prices": "/compare", "Bind a provider": "/settings/providers"}
    assert doc.find(class_="getting-started") is None
    assert "eves-box" not in doc.text and "9.00" not in doc.text


async def test_a_new_account_gets_the_first_steps(sessions, keyring, login, freeze):
    await make_user(sessions, keyring, "new@example.com", "Newcomer", with_key=False)
    doc = await overview(login, freeze, "new@example.com")
    steps = doc.one(class_="getting-started")
    assert [li.get("class") for li in steps.find_all("li")] == ["todo", "todo", "todo"]
    assert steps.find("a", href="/settings/providers") is not None
    assert [doc.one(class_="stat-card", data_card=k).get("data-count") for k in ("running", "stopped", "deployments")] == ["0", "0", "0"]
    assert card(doc, "month") == 0
    assert "No deployments yet" in doc.text


async def test_a_key_but_no_deployment_still_shows_the_steps_with_the_key_done(sessions, keyring, login, freeze):
    await make_user(sessions, keyring, "keyed@example.com", "Keyed")
    doc = await overview(login, freeze, "keyed@example.com")
    assert [li.get("class") for li in doc.one(class_="getting-started").find_all("li")] == ["done", "todo", "todo"]


async def test_the_console_links_to_the_overview_and_costs(sessions, keyring, login, freeze):
    await make_user(sessions, keyring, "nav@example.com", "Nav")
    doc = await (await login("nav@example.com")).page("/console")
    links = {a.get("href") for a in doc.one("nav", class_="console-nav").find_all("a")}
    assert {"/console/overview", "/costs", "/settings/profile"} <= links
