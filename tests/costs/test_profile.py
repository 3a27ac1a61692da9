"""``/settings/profile``: the name and the time zone, validated; the cost pages follow the zone."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from app.db.models import User
from app.web.localtime import localtime
from tests.costs.support import make_user
from tests.web.html import parse_html

UTC = timezone.utc


async def stored(sessions, email: str) -> User:
    async with sessions() as session:
        return (await session.execute(select(User).where(User.email == email))).scalar_one()


async def test_change_name_and_time_zone(sessions, keyring, login):
    await make_user(sessions, keyring, "pat@example.com", "Pat")
    browser = await login("pat@example.com")
    doc = await browser.page("/settings/profile")
    assert doc.one("input", name="name").get("value") == "Pat"
    select_ = doc.one("select", name="timezone")
    assert select_.one("option", selected="").get("value") == "UTC"
    assert len(select_.find_all("option")) > 300 and select_.find("option", value="Asia/Kathmandu")

    response = await browser.post("/settings/profile", {"name": "  Pat Smith ", "timezone": "Asia/Kathmandu"})
    assert response.status_code == 200 and response.url.path == "/settings/profile"
    assert "Saved." in response.text
    user = await stored(sessions, "pat@example.com")
    assert (user.name, user.timezone) == ("Pat Smith", "Asia/Kathmandu")
    assert "Welcome, Pat Smith" in (await browser.page("/console/overview")).one("h1").text
    assert "Asia/Kathmandu" in (await browser.page("/costs")).one(class_="lead").text


@pytest.mark.parametrize("form, message", [
    ({"name": "Pat", "timezone": "Mars/Olympus_Mons"}, "choose a time zone from the list"),
    ({"name": "Pat", "timezone": ""}, "choose a time zone from the list"),
    ({"name": "Pat", "timezone": "../../etc/passwd"}, "choose a time zone from the list"),
    ({"name": "   ", "timezone": "UTC"}, "enter your name"),
    ({"name": "x" * 121, "timezone": "UTC"}, "enter your name"),
])
async def test_bad_input_is_refused_and_nothing_changes(sessions, keyring, login, form, message):
    await make_user(sessions, keyring, "pat@example.com", "Pat", "Europe/Paris")
    browser = await login("pat@example.com")
    response = await browser.post("/settings/profile", form)
    assert response.status_code == 400
    doc = parse_html(response.text)
    assert message in doc.one(class_="alert-error").text
    assert doc.one("input", name="name").get("value") == form["name"]  # what was typed is kept
    user = await stored(sessions, "pat@example.com")
    assert (user.name, user.timezone) == ("Pat", "Europe/Paris")


def test_the_localtime_filter():
    class Reader:
        timezone = "Asia/Kolkata"

    at = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert localtime(at, Reader()) == "2026-03-29 06:00 IST"
    assert localtime(at, Reader(), "%H:%M") == "06:00"
    assert localtime(at, None) == "2026-03-29 00:30 UTC"
    assert localtime(None, Reader()) == ""
    Reader.timezone = "Not/A_Zone"
    assert localtime(at, Reader()) == "2026-03-29 00:30 UTC"
