"""Days, weeks and months are the user's own, under a frozen clock: daylight saving (a day of 23 or
25 hours), midnight in zones 30 and 45 minutes off the hour, a month ending at a different UTC time
than in London. Every daily total is exact and they sum to the total."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from app.costs.accrual import accrue_costs
from tests.costs.support import add_instance, card, chart_points, csv_rows, daily_points, make_user, set_time_zone

UTC = timezone.utc


async def costs_for(login, freeze, now: datetime, email: str, query: str = ""):
    freeze(now)
    browser = await login(email)
    return browser, await browser.page("/costs" + (f"?{query}" if query else ""))


async def test_spring_forward_in_berlin_the_day_has_23_hours(sessions, keyring, login, freeze):
    """2026-03-29: clocks jump from 02:00 to 03:00 in Berlin. Running from Saturday noon to Monday
    noon (local) at $1.00/h is 12 + 23 + 12 hours."""
    user = await make_user(sessions, keyring, "ber@example.com", "Berliner", "Europe/Berlin")
    await add_instance(sessions, user, "spring", [
        (datetime(2026, 3, 28, 11, 0, tzinfo=UTC), "running", "1.00"),   # Sat 12:00 CET
        (datetime(2026, 3, 30, 10, 0, tzinfo=UTC), "stopped", "1.00"),   # Mon 12:00 CEST
    ])
    now = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    await accrue_costs(sessions, now=now)
    browser, doc = await costs_for(login, freeze, now, "ber@example.com", "from=2026-03-27&to=2026-03-31")
    assert daily_points(doc) == {
        "2026-03-27": Decimal(0), "2026-03-28": Decimal("12.00"), "2026-03-29": Decimal("23.00"),
        "2026-03-30": Decimal("12.00"), "2026-03-31": Decimal(0)}
    assert chart_points(doc, "cost-trend-chart") == daily_points(doc)
    assert sum(daily_points(doc).values()) == card(doc, "total") == Decimal("47.00")
    exported = csv_rows((await browser.get("/costs/export.csv?from=2026-03-27&to=2026-03-31")).text)
    assert {r["date"]: r["hours"] for r in exported} == {"2026-03-28": "12.0000", "2026-03-29": "23.0000",
                                                         "2026-03-30": "12.0000"}


async def test_fall_back_in_berlin_the_day_has_25_hours(sessions, keyring, login, freeze):
    user = await make_user(sessions, keyring, "ber@example.com", "Berliner", "Europe/Berlin")
    await add_instance(sessions, user, "autumn", [
        (datetime(2026, 10, 24, 22, 0, tzinfo=UTC), "running", "2.00"),  # Sun Oct 25 00:00 CEST
        (datetime(2026, 10, 25, 23, 0, tzinfo=UTC), "stopped", "2.00"),  # Mon Oct 26 00:00 CET
    ])
    now = datetime(2026, 10, 27, 9, 0, tzinfo=UTC)
    await accrue_costs(sessions, now=now)
    _, doc = await costs_for(login, freeze, now, "ber@example.com", "from=2026-10-24&to=2026-10-26")
    assert daily_points(doc) == {"2026-10-24": Decimal(0), "2026-10-25": Decimal("50.00"), "2026-10-26": Decimal(0)}
    assert card(doc, "total") == Decimal("50.00")


async def test_the_same_costs_fall_on_other_days_in_another_time_zone(sessions, keyring, login, freeze):
    """Midnight is not at a whole UTC hour everywhere: India is +5:30, Nepal +5:45."""
    user = await make_user(sessions, keyring, "tz@example.com", "Traveller", "Asia/Kolkata")
    await add_instance(sessions, user, "night", [
        (datetime(2026, 11, 4, 18, 0, tzinfo=UTC), "running", "4.00"),
        (datetime(2026, 11, 4, 19, 0, tzinfo=UTC), "stopped", "4.00"),
    ])
    now = datetime(2026, 11, 6, 0, 0, tzinfo=UTC)
    await accrue_costs(sessions, now=now)
    query = "from=2026-11-04&to=2026-11-05"
    _, doc = await costs_for(login, freeze, now, "tz@example.com", query)
    assert daily_points(doc) == {"2026-11-04": Decimal("2.00"), "2026-11-05": Decimal("2.00")}  # 23:30-00:30 IST

    await set_time_zone(sessions, user, "Asia/Kathmandu")
    _, doc = await costs_for(login, freeze, now, "tz@example.com", query)
    assert daily_points(doc) == {"2026-11-04": Decimal("1.00"), "2026-11-05": Decimal("3.00")}  # 23:45-00:45 NPT

    await set_time_zone(sessions, user, "America/Los_Angeles")
    _, doc = await costs_for(login, freeze, now, "tz@example.com", query)
    assert daily_points(doc) == {"2026-11-04": Decimal("4.00"), "2026-11-05": Decimal(0)}  # 10:00-11:00 PST
    assert card(doc, "total") == Decimal("4.00")


async def test_this_month_ends_at_the_users_midnight(sessions, keyring, login, freeze):
    """New York is 5 hours behind UTC in December: at 03:00 UTC on Dec 1 it is still November there."""
    user = await make_user(sessions, keyring, "ny@example.com", "New Yorker", "America/New_York")
    await add_instance(sessions, user, "month-end", [(datetime(2026, 11, 30, 23, 0, tzinfo=UTC), "running", "1.00")])

    late_november = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # Nov 30, 22:00 in New York
    await accrue_costs(sessions, now=late_november)
    _, doc = await costs_for(login, freeze, late_november, "ny@example.com")
    assert card(doc, "month") == card(doc, "total") == Decimal("4.00")
    assert "since Nov 1" in doc.one(class_="stat-card", data_card="month").text

    early_december = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # Dec 1, 01:00 in New York
    await accrue_costs(sessions, now=early_december)
    _, doc = await costs_for(login, freeze, early_december, "ny@example.com")
    assert card(doc, "total") == Decimal("7.00")
    assert card(doc, "month") == Decimal("1.00")
    assert daily_points(doc)["2026-11-30"] == Decimal("6.00") and daily_points(doc)["2026-12-01"] == Decimal("1.00")


async def test_this_week_starts_on_the_users_monday(sessions, keyring, login, freeze):
    """Tokyo is 9 hours ahead: Monday 00:00 there is Sunday 15:00 UTC."""
    user = await make_user(sessions, keyring, "tyo@example.com", "Tokyoite", "Asia/Tokyo")
    await add_instance(sessions, user, "weekend", [
        (datetime(2026, 11, 15, 12, 0, tzinfo=UTC), "running", "1.00"),
        (datetime(2026, 11, 15, 18, 0, tzinfo=UTC), "stopped", "1.00"),
    ])
    now = datetime(2026, 11, 15, 19, 0, tzinfo=UTC)  # Monday Nov 16, 04:00 in Tokyo
    await accrue_costs(sessions, now=now)
    _, doc = await costs_for(login, freeze, now, "tyo@example.com")
    assert card(doc, "week") == Decimal("3.00")
    assert card(doc, "total") == Decimal("6.00")


async def test_the_default_range_is_the_last_30_days_of_the_users_calendar(sessions, keyring, login, freeze):
    await make_user(sessions, keyring, "akl@example.com", "Kiwi", "Pacific/Auckland")
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # already Nov 21 in Auckland
    _, doc = await costs_for(login, freeze, now, "akl@example.com")
    days = sorted(daily_points(doc))
    assert (days[0], days[-1], len(days)) == ("2026-10-23", "2026-11-21", 30)
