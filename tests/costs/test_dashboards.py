"""The pieces under the cost pages: the zone's calendar in UTC, and figures plotly.js can draw."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboards import cost_charts
from dashboards.local_days import local_midnight, utc_offsets

UTC = timezone.utc


@pytest.mark.parametrize("zone, day, expected", [
    ("Europe/Berlin", date(2026, 3, 29), datetime(2026, 3, 28, 23, 0, tzinfo=UTC)),
    ("Europe/Berlin", date(2026, 3, 30), datetime(2026, 3, 29, 22, 0, tzinfo=UTC)),  # 23 hours later
    ("Asia/Kathmandu", date(2026, 11, 5), datetime(2026, 11, 4, 18, 15, tzinfo=UTC)),
    ("America/Santiago", date(2026, 9, 6), datetime(2026, 9, 6, 4, 0, tzinfo=UTC)),  # midnight is skipped there
])
def test_local_midnight(zone, day, expected):
    assert local_midnight(ZoneInfo(zone), day) == expected


def test_utc_offsets_over_a_year_of_berlin():
    zone = ZoneInfo("Europe/Berlin")
    start, end = local_midnight(zone, date(2026, 1, 1)), local_midnight(zone, date(2027, 1, 1))
    assert utc_offsets(zone, start, end) == [
        (start, 3600),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), 7200),
        (datetime(2026, 10, 25, 1, 0, tzinfo=UTC), 3600),
    ]
    kolkata = ZoneInfo("Asia/Kolkata")
    assert utc_offsets(kolkata, start, end) == [(start, 19800)]


def test_the_figures_follow_plotlys_schema():
    days = pd.Series([1_500_000, 0, 2_250_000], index=[date(2026, 11, d) for d in (1, 2, 3)], dtype="int64")
    shares = pd.Series([3_000_000, 750_000], index=["H100 SXM 80GB", "A100 SXM 80GB"], dtype="int64")
    for text in (cost_charts.daily_figure(days), cost_charts.share_figure(shares, "GPU"),
                 cost_charts.bar_figure(shares, "Provider")):
        figure = json.loads(text)
        go.Figure(figure)  # raises on any property plotly does not know
    trend = json.loads(cost_charts.daily_figure(days))["data"][0]
    assert trend["customdata"] == ["1.500000", "0.000000", "2.250000"] and trend["y"] == [1.5, 0.0, 2.25]
    assert cost_charts.share_figure(pd.Series(dtype="int64"), "GPU") is None
