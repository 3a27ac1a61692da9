"""Alembic environment: the only source of the schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from app.db.base import Base
from app.db.engine import sync_url
import app.db.models  # noqa: F401  (registers every table on Base.metadata)
from providers.sandbox import tables as sandbox_tables

config = context.config
# The sandbox provider's tables have their own MetaData (providers never import the app's models).
target_metadata = [Base.metadata, sandbox_tables.metadata]
# The job queue's tables belong to procrastinate (created from its own schema by migration 0010).
JOB_QUEUE_PREFIX = "procrastinate_"


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ in ("table", "index") and name and name.startswith(JOB_QUEUE_PREFIX))


# Serialises concurrent `db upgrade` runs (several containers starting at once).
_PG_ADVISORY_LOCK_ID = 7_301_1994


def run_migrations_online() -> None:
    url = sync_url(config.get_main_option("sqlalchemy.url"))
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    is_pg = connection.dialect.name == "postgresql"
    if is_pg:
        connection.execute(text("SET lock_timeout = '30s'"))
        connection.execute(text(f"SELECT pg_advisory_lock({_PG_ADVISORY_LOCK_ID})"))
        connection.commit()
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite can only ALTER through table copies
        compare_type=True,
        include_object=include_object,
        transaction_per_migration=True,
    )
    try:
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if is_pg:
            connection.execute(text(f"SELECT pg_advisory_unlock({_PG_ADVISORY_LOCK_ID})"))
            connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `computehub db upgrade`")
run_migrations_online()
