"""A time zone's calendar, in UTC: where a local day, week or month starts, and the zone's UTC
offset over a range (what SQL needs to put each cost record on its local day).

A local day is not always 24 hours (23 or 25 on the days clocks change), so these come from the
zone's rules (pandas on the IANA database), never from adding 24 h to a midnight. Cost periods are
15 minutes of UTC and every offset in use is a multiple of 15 minutes, so a period never straddles
two local days.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd


def local_midnight(zone: ZoneInfo, day: date) -> datetime:
    """The first instant of ``day`` in ``zone``, as an aware UTC datetime."""
    # Where midnight repeats, the day starts at the first one; where it is skipped (a few zones
    # change clocks at midnight), at the first instant that exists.
    naive = pd.DatetimeIndex([pd.Timestamp(day)])
    local = naive.tz_localize(zone, ambiguous=np.ones(1, dtype=bool), nonexistent="shift_forward")
    return local.tz_convert("UTC")[0].to_pydatetime()


def utc_offsets(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """The zone's UTC offset in seconds over [start, end), as [(from, offset)] with a new entry at
    each change (daylight saving). Read on the 15-minute grid cost periods start on."""
    grid = pd.date_range(start, end, freq="15min", inclusive="left")
    if not len(grid):
        return [(start, int(start.astimezone(zone).utcoffset().total_seconds()))]
    local = grid.tz_convert(zone).tz_localize(None)
    offsets = (local - grid.tz_convert("UTC").tz_localize(None)).total_seconds().astype("int64")
    changes = np.flatnonzero(np.diff(offsets)) + 1
    return [(start, int(offsets[0]))] + [(grid[i].to_pydatetime(), int(offsets[i])) for i in changes]


def local_today(zone: ZoneInfo, now: datetime) -> date:
    return now.astimezone(zone).date()


def week_start(day: date) -> date:
    """Monday of the ISO week ``day`` is in."""
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)
