"""Ingest one source's snapshot of offers in one transaction, writing history only on change.

The new snapshot is bulk-loaded into a temporary staging table (COPY on PostgreSQL), then a
few set-based statements diff it against the current offers: appeared, changed (price or
availability) and disappeared offers each get one history row, and only rows whose data
differ are rewritten. History (and write volume) therefore grows with changes, not with polls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, Column, Date, Integer, MetaData, String, Table, bindparam, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.db.models import OFFER_ORIGIN_LIVE, Offer as OfferRow
from app.db.types import Money, UTCDateTime
from providers.base import Offer, PriceBasis
from providers.gpus import host_cpu_arch, resolve_gpu
from providers.registry import UnknownSource, get_source_class

_stage_meta = MetaData()
STAGE = Table(
    "offer_stage",
    _stage_meta,
    Column("offer_key", String(255), primary_key=True),
    Column("instance_type", String(255)),
    Column("gpu_slug", String(64)),
    Column("gpu_raw_name", String(255)),
    Column("gpu_hint", String(255)),
    Column("gpu_count", Money()),
    Column("gpu_memory_gb", Integer),
    Column("vcpus", Integer),
    Column("ram_gb", Integer),
    Column("disk_gb", Integer),
    Column("region", String(128)),
    Column("spot", Boolean),
    Column("price_per_hour", Money()),
    Column("price_per_gpu_hour", Money()),
    Column("available", Boolean),
    Column("buy_url", String(512)),
    Column("original_currency", String(3)),
    Column("original_price_per_hour", Money()),
    Column("fx_usd_per_unit", Money()),
    Column("fx_rate_date", Date),
    Column("price_basis", String(16)),
    Column("cpu_arch", String(16)),
    Column("boot_seconds_min", Integer),
    Column("boot_seconds_max", Integer),
    prefixes=["TEMPORARY"],
)
STAGE_COLUMNS = [c.name for c in STAGE.columns]
_DATA_COLUMNS = [c for c in STAGE_COLUMNS if c != "offer_key"]
# Timestamps bound into raw SQL still go through the UTC column type (naive UTC on SQLite).
_AT = bindparam("at", type_=UTCDateTime())


@dataclass(frozen=True)
class IngestStats:
    appeared: int
    changed: int
    disappeared: int
    unchanged: int

    @property
    def history_rows(self) -> int:
        return self.appeared + self.changed + self.disappeared


def stage_row(offer: Offer, source_basis: PriceBasis | None = None) -> tuple:
    """``source_basis``: the source's ``PRICE_BASIS``, for an offer that does not set its own."""
    gpu = resolve_gpu(offer.gpu_raw_name, offer.gpu_memory_gb, offer.gpu_hint)
    basis = offer.price_basis or source_basis
    cpu_arch = offer.cpu_arch or host_cpu_arch(gpu)
    return (
        offer.offer_key, offer.instance_type, gpu.slug if gpu else None, offer.gpu_raw_name, offer.gpu_hint,
        offer.gpu_count, offer.gpu_memory_gb, offer.vcpus, offer.ram_gb, offer.disk_gb,
        offer.region, offer.spot, offer.price_per_hour, offer.price_per_gpu_hour,
        offer.available, offer.buy_url or "",
        *_conversion(offer),
        basis.value if basis else None, cpu_arch.value if cpu_arch else None,
        offer.boot_seconds_min, offer.boot_seconds_max,
    )


def source_price_basis(source: str) -> PriceBasis | None:
    """What a registered source's prices pay for; None for a name the registry does not know, or a
    source that declares none (the contract tests require one; a poll still stores its prices)."""
    try:
        return getattr(get_source_class(source), "PRICE_BASIS", None)
    except UnknownSource:
        return None


def _conversion(offer: Offer) -> tuple:
    """The provider's own currency and amount, and the rate used, when the price was converted.
    A new daily rate rewrites the row but is no price-history event unless the USD price moves."""
    fx = offer.converted_from
    if fx is None:
        return (None, None, None, None)
    return (fx.currency, fx.price_per_hour, fx.usd_per_unit, fx.rate_date)


def dedupe(offers: Sequence[Offer]) -> list[Offer]:
    """One offer per key: a source that lists the same shape twice keeps the cheaper one."""
    best: dict[str, Offer] = {}
    for offer in offers:
        kept = best.get(offer.offer_key)
        if kept is None or offer.price_per_hour < kept.price_per_hour:
            best[offer.offer_key] = offer
    return list(best.values())


async def _load_stage(conn: AsyncConnection, rows: list[tuple]) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(text("DROP TABLE IF EXISTS offer_stage"))
        await conn.run_sync(lambda sync: STAGE.create(sync))
        raw = await conn.get_raw_connection()
        pg = raw.driver_connection
        cols = ", ".join(STAGE_COLUMNS)
        async with pg.cursor() as cursor:
            async with cursor.copy(f"COPY offer_stage ({cols}) FROM STDIN") as copy:
                for row in rows:
                    await copy.write_row(row)
        return
    await conn.execute(text("DROP TABLE IF EXISTS temp.offer_stage"))
    await conn.run_sync(lambda sync: STAGE.create(sync))
    if rows:
        await conn.execute(insert(STAGE), [dict(zip(STAGE_COLUMNS, row)) for row in rows])


def _distinct(dialect: str, left: str, right: str) -> str:
    op = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
    return f"{left} {op} {right}"


async def ingest_offers(
    session: AsyncSession,
    source: str,
    offers: Sequence[Offer],
    observed_at: datetime,
    origin: str = OFFER_ORIGIN_LIVE,
) -> IngestStats:
    """Replace ``source``'s current offers with ``offers``; the caller commits."""
    basis = source_price_basis(source)
    rows = [stage_row(o, basis) for o in dedupe(offers)]
    conn = await session.connection()
    dialect = conn.dialect.name
    await _load_stage(conn, rows)
    params = {"source": source, "at": observed_at, "origin": origin}

    changed_cond = " OR ".join(
        [
            _distinct(dialect, "o.price_per_hour", "s.price_per_hour"),
            _distinct(dialect, "o.available", "s.available"),
        ]
    )
    history_cols = "source, offer_key, gpu_slug, region, spot, event, price_per_hour, price_per_gpu_hour, available, observed_at"

    appeared = await conn.execute(
        text(
            f"INSERT INTO price_history ({history_cols}) "
            "SELECT CAST(:source AS VARCHAR(64)), s.offer_key, s.gpu_slug, s.region, s.spot, 'appeared', s.price_per_hour, "
            "s.price_per_gpu_hour, s.available, :at FROM offer_stage s "
            "WHERE NOT EXISTS (SELECT 1 FROM offers o WHERE o.source = :source AND o.offer_key = s.offer_key)"
        ).bindparams(_AT),
        params,
    )
    changed = await conn.execute(
        text(
            f"INSERT INTO price_history ({history_cols}) "
            "SELECT CAST(:source AS VARCHAR(64)), s.offer_key, s.gpu_slug, s.region, s.spot, 'changed', s.price_per_hour, "
            "s.price_per_gpu_hour, s.available, :at FROM offer_stage s "
            f"JOIN offers o ON o.source = :source AND o.offer_key = s.offer_key WHERE {changed_cond}"
        ).bindparams(_AT),
        params,
    )
    disappeared = await conn.execute(
        text(
            f"INSERT INTO price_history ({history_cols}) "
            "SELECT o.source, o.offer_key, o.gpu_slug, o.region, o.spot, 'disappeared', o.price_per_hour, "
            "o.price_per_gpu_hour, o.available, :at FROM offers o WHERE o.source = :source "
            "AND NOT EXISTS (SELECT 1 FROM offer_stage s WHERE s.offer_key = o.offer_key)"
        ).bindparams(_AT),
        params,
    )
    await conn.execute(
        text(
            "DELETE FROM offers WHERE source = :source "
            "AND NOT EXISTS (SELECT 1 FROM offer_stage s WHERE s.offer_key = offers.offer_key)"
        ),
        params,
    )
    # Only rows whose data differ are rewritten: an unchanged offer was confirmed by this poll, and
    # its age is read from the source's last success (see app.services.prices), not stored per row.
    set_cols = ", ".join(f"{c} = s.{c}" for c in _DATA_COLUMNS)
    differs = " OR ".join([_distinct(dialect, f"o.{c}", f"s.{c}") for c in _DATA_COLUMNS]
                          + [_distinct(dialect, "o.origin", "CAST(:origin AS VARCHAR(16))")])
    await conn.execute(
        text(
            f"UPDATE offers AS o SET {set_cols}, origin = CAST(:origin AS VARCHAR(16)), observed_at = :at "
            f"FROM offer_stage AS s WHERE o.source = :source AND o.offer_key = s.offer_key AND ({differs})"
        ).bindparams(_AT),
        params,
    )
    cols = ", ".join(STAGE_COLUMNS)
    await conn.execute(
        text(
            f"INSERT INTO offers (source, {cols}, origin, first_seen_at, observed_at) "
            f"SELECT CAST(:source AS VARCHAR(64)), {', '.join('s.' + c for c in STAGE_COLUMNS)}, CAST(:origin AS VARCHAR(16)), :at, :at "
            "FROM offer_stage s WHERE NOT EXISTS "
            "(SELECT 1 FROM offers o WHERE o.source = :source AND o.offer_key = s.offer_key)"
        ).bindparams(_AT),
        params,
    )
    await conn.execute(text("DROP TABLE IF EXISTS offer_stage"))
    total = len(rows)
    return IngestStats(
        appeared=appeared.rowcount,
        changed=changed.rowcount,
        disappeared=disappeared.rowcount,
        unchanged=total - appeared.rowcount - changed.rowcount,
    )


async def current_offer_count(session: AsyncSession, source: str) -> int:
    query = select(func.count()).select_from(OfferRow).where(OfferRow.source == source)
    return (await session.execute(query)).scalar_one()
