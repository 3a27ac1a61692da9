"""The local calendar day of a UTC timestamp, computed in SQL on PostgreSQL and SQLite alike.

``local day = (seconds since 1970 + the zone's UTC offset at that instant) // 86400``. The offsets
come from ``dashboards.local_days.utc_offsets`` (a stretch per daylight-saving change in the range,
so usually one to three CASE branches): the database never needs time zone data of its own.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import BigInteger, case, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

SECONDS_PER_DAY = 86_400
EPOCH_DAY = date(1970, 1, 1)


class epoch_seconds(FunctionElement):  # noqa: N801 - reads like the SQL function it stands for
    """Whole seconds since 1970-01-01 UTC of a UTC timestamp column."""

    type = BigInteger()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element, compiler, **kw) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS BIGINT)"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw) -> str:
    # UTCDateTime stores 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC on SQLite, which strftime reads as UTC.
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


def local_day_number(column: ColumnElement, offsets: list[tuple[datetime, int]]) -> ColumnElement:
    """Days since 1970-01-01 of ``column``'s local date; ``offsets`` is [(from, UTC offset in seconds)]
    in time order, covering every value the query reads."""
    if len(offsets) == 1:
        offset = literal(offsets[0][1], BigInteger())
    else:
        offset = case(*[(column < until, literal(seconds, BigInteger()))
                        for (_, seconds), (until, _) in zip(offsets, offsets[1:])],
                      else_=literal(offsets[-1][1], BigInteger()))
    return (epoch_seconds(column) + offset) // SECONDS_PER_DAY


def day_from_number(number: int) -> date:
    return EPOCH_DAY + timedelta(days=int(number))
