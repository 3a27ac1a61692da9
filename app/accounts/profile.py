"""The profile: the name the console greets you with, and the time zone your days are counted in
(cost per day, this week, this month). Times are stored in UTC; only their display follows it."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from app.db.models import User

MAX_NAME = 120


class ProfileError(ValueError):
    """Input the profile form rejects; the message is shown to the user."""


@cache
def time_zones() -> tuple[str, ...]:
    """Every IANA zone name the system knows (``zoneinfo.available_timezones``), sorted."""
    return tuple(sorted(available_timezones()))


def update_profile(user: User, name: str, time_zone: str) -> None:
    """Validate and apply; the caller commits."""
    name, time_zone = (name or "").strip(), (time_zone or "").strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise ProfileError(f"enter your name (up to {MAX_NAME} characters)")
    if time_zone not in time_zones():
        raise ProfileError("choose a time zone from the list")
    user.name, user.timezone = name, time_zone
