"""Migration 0013 (what a price pays for, CPU architecture, boot time): existing offers get their
source's basis (a loaded snapshot is never re-ingested), and it goes down again, on both engines."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, text

from app.db.engine import sync_url
from app.db.migrate import downgrade, upgrade
from tests.db.test_migrations import fresh_url  # noqa: F401  (the SQLite / PostgreSQL fixture)

NEW_COLUMNS = {"price_basis", "cpu_arch", "boot_seconds_min", "boot_seconds_max"}


def offer_columns(url: str) -> set[str]:
    engine = create_engine(sync_url(url))
    try:
        return {c["name"] for c in inspect(engine).get_columns("offers")}
    finally:
        engine.dispose()


def insert_offer(url: str, source: str) -> None:
    engine = create_engine(sync_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO offers (source, offer_key, instance_type, gpu_raw_name, gpu_hint, gpu_count, region, "
                "spot, price_per_hour, price_per_gpu_hour, buy_url, origin, first_seen_at, observed_at) VALUES "
                "(:source, 'k', 't', 'H100', '', 1, 'r', false, 2, 2, '', 'snapshot', :at, :at)"
            ), {"source": source, "at": "2026-12-03 00:00:00"})
    finally:
        engine.dispose()


def bases(url: str) -> dict[str, str | None]:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            return dict(conn.execute(text("SELECT source, price_basis FROM offers")).all())
    finally:
        engine.dispose()


def test_existing_offers_get_their_sources_basis_and_it_goes_down_again(fresh_url):  # noqa: F811
    upgrade(fresh_url, "0012")
    for source in ("runpod", "cudo", "tensordock", "gcp", "lambdalabs", "aws"):
        insert_offer(fresh_url, source)
    assert not NEW_COLUMNS & offer_columns(fresh_url)

    upgrade(fresh_url, "0013")
    assert NEW_COLUMNS <= offer_columns(fresh_url)
    assert bases(fresh_url) == {"runpod": "gpu_only", "gcp": "gpu_only", "cudo": "smallest_vm",
                                "tensordock": "smallest_vm", "lambdalabs": "instance", "aws": "instance"}

    downgrade(fresh_url, "0012")
    assert not NEW_COLUMNS & offer_columns(fresh_url)
    assert len(bases_without_column(fresh_url)) == 6  # the rows survive the way down


def bases_without_column(url: str) -> list[str]:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT source FROM offers")).scalars())
    finally:
        engine.dispose()
