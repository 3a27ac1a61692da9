"""The one date and page parser every filter form uses (costs, deployment history, activity log)."""

from __future__ import annotations

from datetime import date

import pytest

from app.services.inputs import EARLIEST_DAY, LATEST_DAY, InvalidField, parse_day, parse_page


@pytest.mark.parametrize("typed, expected", [("", None), ("  ", None), (None, None), (" 2026-11-02 ", date(2026, 11, 2)),
                                             (EARLIEST_DAY.isoformat(), EARLIEST_DAY), (LATEST_DAY.isoformat(), LATEST_DAY)])
def test_days_that_are_honoured(typed, expected):
    assert parse_day(typed, "from") == expected


@pytest.mark.parametrize("typed", ["yesterday", "2026-13-01", "1999-12-31", "2200-01-01", "9999-12-31", "2026-02-30"])
def test_days_that_are_refused_name_their_field(typed):
    with pytest.raises(InvalidField) as refused:
        parse_day(typed, "to")
    assert refused.value.field == "to"
    assert not refused.value.message.startswith("to:")
    with pytest.raises(InvalidField) as named:
        parse_day(typed, "to", named=True)
    assert named.value.message.startswith("to: ")


@pytest.mark.parametrize("typed, expected", [("", 1), (None, 1), ("1", 1), (" 7 ", 7), ("100", 100), (42, 42), ("042", 42)])
def test_pages_that_are_honoured(typed, expected):
    assert parse_page(typed, 100) == expected


@pytest.mark.parametrize("typed", ["0", "101", "-1", "1.5", "two", "٣", "9" * 400, 0, 101, "1e3"])
def test_pages_that_are_refused(typed):
    with pytest.raises(InvalidField) as refused:
        parse_page(typed, 100)
    assert refused.value.field == "page"
    assert "from 1 to 100" in refused.value.message
