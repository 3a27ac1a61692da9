"""An empty database per migration test: a SQLite file, or a PostgreSQL database of its own (each
migration test walks revisions on a database nothing else touches)."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import PG_URL, pg_dsn, require_postgres


def empty_database(name: str):
    """A fixture yielding the URL of an empty database called ``name``, once per test database."""

    @pytest.fixture(params=["sqlite", "postgresql"])
    def url(request, tmp_path):
        if request.param == "sqlite":
            yield f"sqlite+aiosqlite:///{tmp_path / f'{name}.sqlite3'}"
            return
        require_postgres()
        with psycopg.connect(pg_dsn(PG_URL), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
        yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
        with psycopg.connect(pg_dsn(PG_URL), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    return url
