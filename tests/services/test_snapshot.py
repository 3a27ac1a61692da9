"""The bundled snapshot: exact round-trip, loaded only where there are no prices, always labelled."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select

from app.db.models import Offer as OfferRow, PriceSource as SourceRow
from app.services.freshness import source_freshness
from app.services.polling import poll_source
from app.services.prices import PriceQuery, list_offers
from app.services.snapshot import load_snapshot, read_snapshot, write_snapshot
from providers.http import new_client
from tests.support.factories import NOW, make_offer, seed

TAKEN_AT = datetime(2026, 10, 1, 6, 30, tzinfo=timezone.utc)


def snapshot_offers() -> dict:
    return {
        "fake-alpha": [
            make_offer("fake-alpha", "H100 SXM", "23.92", count=8, region="us-east-1"),
            make_offer("fake-alpha", "RTX 4090", "0.000001", memory=24, region="eu-west-1", spot=True),
            make_offer("fake-alpha", "A100 SXM4", "0.55", count="0.5", region="eu-west-1", available=None),
        ],
        "lambdalabs": [make_offer("lambdalabs", "H100 SXM", "1.11")],
        "not-a-registered-source": [make_offer("not-a-registered-source", "H100 SXM", "0.10")],
    }


async def offers_by_source(sessions) -> dict[str, list[tuple]]:
    async with sessions() as s:
        rows = (await s.execute(select(OfferRow).order_by(OfferRow.offer_key))).scalars().all()
    out: dict[str, list[tuple]] = {}
    for r in rows:
        out.setdefault(r.source, []).append((r.instance_type, r.price_per_hour, r.origin, r.observed_at))
    return out


async def status(sessions, name):
    async with sessions() as s:
        return await s.get(SourceRow, name)


def test_write_then_read_round_trips_exactly(tmp_path):
    path = tmp_path / "snap.json.gz"
    offers = snapshot_offers()
    write_snapshot(path, TAKEN_AT.astimezone(timezone(timedelta(hours=2))), "test snapshot", offers)
    taken_at, note, read = read_snapshot(path)
    assert taken_at == TAKEN_AT and taken_at.tzinfo == timezone.utc
    assert note == "test snapshot"
    assert read == offers  # every field, Decimals included
    alpha = read["fake-alpha"]
    assert [o.price_per_hour for o in alpha] == [Decimal("23.92"), Decimal("0.000001"), Decimal("0.55")]
    assert [str(o.gpu_count) for o in alpha] == ["8", "1", "0.5"]
    assert alpha[0].price_per_gpu_hour == Decimal("2.99")


async def test_snapshot_loads_only_sources_without_prices(sessions, fake_registry, tmp_path):
    path = tmp_path / "snap.json.gz"
    write_snapshot(path, TAKEN_AT, "", snapshot_offers())
    await seed(sessions, [make_offer("lambdalabs", "H100 SXM", "2.99")], at=NOW)

    assert await load_snapshot(sessions, path) == ["fake-alpha"]

    offers = await offers_by_source(sessions)
    assert set(offers) == {"fake-alpha", "lambdalabs"}  # an unregistered source is ignored
    assert offers["lambdalabs"] == [("h100-sxm-x1", Decimal("2.990000"), "live", NOW)]  # live prices kept
    assert sorted(o[1] for o in offers["fake-alpha"]) == [Decimal("0.000001"), Decimal("0.550000"),
                                                          Decimal("23.920000")]
    assert {(o[2], o[3]) for o in offers["fake-alpha"]} == {("snapshot", TAKEN_AT)}
    row = await status(sessions, "fake-alpha")
    assert (row.snapshot_taken_at, row.last_success_at, row.offer_count) == (TAKEN_AT, None, 3)
    fresh = source_freshness(row, 600, NOW)
    assert (fresh.state, fresh.label, fresh.as_of) == ("snapshot", "snapshot of 2026-10-01", TAKEN_AT)

    async with sessions() as s:
        page = await list_offers(s, PriceQuery(providers=("fake-alpha",)), now=NOW)
    assert page.total == 3
    assert {(o.is_snapshot, o.age_label, o.freshness.label) for o in page.items} == {
        (True, "snapshot of 2026-10-01", "snapshot of 2026-10-01")
    }

    # Loading again is a no-op: nothing reloaded, nothing duplicated.
    assert await load_snapshot(sessions, path) == []
    assert await offers_by_source(sessions) == offers


async def test_a_live_poll_replaces_the_snapshot(sessions, settings, fake_registry, tmp_path):
    path = tmp_path / "snap.json.gz"
    write_snapshot(path, TAKEN_AT, "", snapshot_offers())
    assert "fake-alpha" in await load_snapshot(sessions, path)
    live = make_offer("fake-alpha", "H100 SXM", "22.00", count=8, region="us-east-1")  # same offer, new price
    fake_registry.SCRIPTS["fake-alpha"] = [
        RuntimeError("adapter down"),  # a failed poll leaves the snapshot labelled as such
        [live, make_offer("fake-alpha", "L40S", "0.80", memory=48)],
    ]
    async with new_client(timeout=5) as http:
        failed = await poll_source("fake-alpha", settings, sessions, http, now=NOW)
        assert failed.status == "failed"
        assert source_freshness(await status(sessions, "fake-alpha"), 600, NOW).label == "snapshot of 2026-10-01"
        assert {o[2] for o in (await offers_by_source(sessions))["fake-alpha"]} == {"snapshot"}

        ok = await poll_source("fake-alpha", settings, sessions, http, now=NOW + timedelta(minutes=1))
    assert ok.status == "ok"

    offers = (await offers_by_source(sessions))["fake-alpha"]
    assert sorted((o[1], o[2], o[3]) for o in offers) == [
        (Decimal("0.800000"), "live", NOW + timedelta(minutes=1)),
        (Decimal("22.000000"), "live", NOW + timedelta(minutes=1)),
    ]
    row = await status(sessions, "fake-alpha")
    assert row.snapshot_taken_at is None and row.last_success_at == NOW + timedelta(minutes=1)
    fresh = source_freshness(row, 600, NOW + timedelta(minutes=2))
    assert (fresh.state, fresh.label) == ("live", "live: updated just now")
    async with sessions() as s:
        page = await list_offers(s, PriceQuery(providers=("fake-alpha",)), now=NOW + timedelta(minutes=2))
    assert not any(o.is_snapshot or "snapshot" in o.age_label for o in page.items)

    # With live prices in place, the snapshot is never loaded again.
    assert await load_snapshot(sessions, path) == []


async def test_missing_snapshot_file_loads_nothing(sessions, tmp_path):
    assert await load_snapshot(sessions, tmp_path / "absent.json.gz") == []
