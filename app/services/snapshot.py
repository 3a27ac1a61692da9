"""The price snapshot bundled with the package, loaded at first start so pages work offline.

Snapshot offers keep ``origin = "snapshot"`` and ``observed_at = taken_at``, so every page
labels them as a snapshot with its date, never as live prices. A live poll replaces them.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import asdict, fields
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import OFFER_ORIGIN_LIVE, OFFER_ORIGIN_SNAPSHOT, Offer as OfferRow, PriceSource as SourceRow
from app.services.history import refresh_daily_stats
from app.services.ingest import ingest_offers
from providers.base import CpuArch, Offer, PriceBasis
from providers.fx import PriceConversion
from providers.registry import SOURCES

SNAPSHOT_PATH = Path(__file__).resolve().parent.parent / "data" / "price_snapshot.json.gz"
FORMAT = 1
_DECIMAL_FIELDS = {"gpu_count", "price_per_hour"}


def _offer_to_json(offer: Offer) -> dict:
    data = asdict(offer)
    for key in _DECIMAL_FIELDS:
        data[key] = str(data[key])
    fx = offer.converted_from
    data["converted_from"] = None if fx is None else {
        "currency": fx.currency, "price_per_hour": str(fx.price_per_hour),
        "usd_per_unit": str(fx.usd_per_unit), "rate_date": fx.rate_date.isoformat(),
    }
    return data


def _offer_from_json(data: dict) -> Offer:
    known = {f.name for f in fields(Offer)}
    values = {k: v for k, v in data.items() if k in known}
    for key in _DECIMAL_FIELDS:
        values[key] = Decimal(values[key])
    for key, kind in (("price_basis", PriceBasis), ("cpu_arch", CpuArch)):
        if values.get(key) is not None:
            values[key] = kind(values[key])
    fx = values.get("converted_from")
    if fx is not None:
        values["converted_from"] = PriceConversion(
            currency=fx["currency"], price_per_hour=Decimal(fx["price_per_hour"]),
            usd_per_unit=Decimal(fx["usd_per_unit"]), rate_date=date.fromisoformat(fx["rate_date"]),
        )
    return Offer(**values)


def read_snapshot(path: Path = SNAPSHOT_PATH) -> tuple[datetime, str, dict[str, list[Offer]]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        data = json.load(fh)
    if data.get("format") != FORMAT:
        raise ValueError(f"unsupported snapshot format {data.get('format')!r}")
    taken_at = datetime.fromisoformat(data["taken_at"]).astimezone(timezone.utc)
    offers = {name: [_offer_from_json(o) for o in items] for name, items in data["sources"].items()}
    return taken_at, data.get("note", ""), offers


def write_snapshot(path: Path, taken_at: datetime, note: str, offers: dict[str, list[Offer]]) -> None:
    payload = {
        "format": FORMAT,
        "taken_at": taken_at.astimezone(timezone.utc).isoformat(),
        "note": note,
        "sources": {name: [_offer_to_json(o) for o in items] for name, items in sorted(offers.items())},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=None, separators=(",", ":"))


async def load_snapshot(sessions: async_sessionmaker[AsyncSession], path: Path = SNAPSHOT_PATH) -> list[str]:
    """Load the snapshot for every source that has no prices yet. Returns the sources loaded."""
    if not path.exists():
        return []
    taken_at, _note, offers = read_snapshot(path)
    loaded = []
    for name, items in offers.items():
        if name not in SOURCES or not items:
            continue
        async with sessions() as session, session.begin():
            row = await session.get(SourceRow, name)
            has_offers = (
                await session.execute(select(func.count()).select_from(OfferRow).where(OfferRow.source == name))
            ).scalar_one()
            if has_offers or (row is not None and row.last_success_at is not None):
                continue  # never overwrite real prices with the snapshot
            await ingest_offers(session, name, items, taken_at, origin=OFFER_ORIGIN_SNAPSHOT)
            if row is None:
                row = SourceRow(name=name, offer_count=0, skipped_count=0, consecutive_failures=0,
                                not_configured=False)
                session.add(row)
            row.snapshot_taken_at = taken_at
            row.offer_count = len(items)
            loaded.append(name)
    if loaded:
        async with sessions() as session, session.begin():
            await refresh_daily_stats(session, taken_at.date())
    return loaded


async def export_snapshot(sessions: async_sessionmaker[AsyncSession], path: Path, note: str) -> int:
    """Write the current live offers as a new bundled snapshot."""
    async with sessions() as session:
        rows = (await session.execute(select(OfferRow).where(OfferRow.origin == OFFER_ORIGIN_LIVE))).scalars().all()
    by_source: dict[str, list[Offer]] = {}
    for r in rows:
        by_source.setdefault(r.source, []).append(
            Offer(source=r.source, instance_type=r.instance_type, gpu_raw_name=r.gpu_raw_name, gpu_hint=r.gpu_hint,
                  gpu_count=r.gpu_count, price_per_hour=r.price_per_hour, region=r.region, spot=r.spot,
                  available=r.available, gpu_memory_gb=r.gpu_memory_gb, vcpus=r.vcpus, ram_gb=r.ram_gb,
                  disk_gb=r.disk_gb, buy_url=r.buy_url, converted_from=r.conversion,
                  price_basis=PriceBasis(r.price_basis) if r.price_basis else None,
                  cpu_arch=CpuArch(r.cpu_arch) if r.cpu_arch else None,
                  boot_seconds_min=r.boot_seconds_min, boot_seconds_max=r.boot_seconds_max)
        )
    taken_at = max((r.observed_at for r in rows), default=datetime.now(timezone.utc))
    write_snapshot(path, taken_at, note, by_source)
    return len(rows)

