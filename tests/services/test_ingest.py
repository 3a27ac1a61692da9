from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import func, select

from app.db.models import Offer as OfferRow, PriceHistory
from app.services.ingest import ingest_offers
from providers.base import Offer

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def offer(itype="gpu_1x_h100_sxm5", region="us-east-1", price="2.99", available=True, spot=False, count=1):
    return Offer(source="lambdalabs", instance_type=itype, gpu_raw_name="H100 (80 GB SXM5)",
                 gpu_count=Decimal(count), price_per_hour=Decimal(price), region=region, spot=spot,
                 available=available, gpu_memory_gb=80, buy_url="https://lambda.ai/pricing")


async def history(sessions):
    async with sessions() as s:
        rows = (await s.execute(select(PriceHistory).order_by(PriceHistory.id))).scalars().all()
        return [(r.offer_key.split("|")[1], r.event, r.price_per_hour, r.available) for r in rows]


async def ingest(sessions, offers, at):
    async with sessions() as s, s.begin():
        return await ingest_offers(s, "lambdalabs", offers, at)


async def test_history_grows_with_changes_not_polls(sessions):
    first = [offer(), offer(region="us-west-1", price="3.10")]
    stats = await ingest(sessions, first, T0)
    assert (stats.appeared, stats.changed, stats.disappeared) == (2, 0, 0)
    for i in range(1, 4):  # identical polls: no new history
        stats = await ingest(sessions, first, T0 + timedelta(minutes=15 * i))
        assert stats.history_rows == 0 and stats.unchanged == 2
    assert len(await history(sessions)) == 2

    # price change, availability change, disappearance, appearance
    await ingest(sessions, [offer(price="2.49"), offer(region="us-west-1", price="3.10", available=False),
                            offer(region="eu-central-1", price="3.50")], T0 + timedelta(hours=2))
    await ingest(sessions, [offer(price="2.49"), offer(region="eu-central-1", price="3.50")], T0 + timedelta(hours=3))
    assert await history(sessions) == [
        ("us-east-1", "appeared", Decimal("2.990000"), True),
        ("us-west-1", "appeared", Decimal("3.100000"), True),
        ("eu-central-1", "appeared", Decimal("3.500000"), True),
        ("us-east-1", "changed", Decimal("2.490000"), True),
        ("us-west-1", "changed", Decimal("3.100000"), False),
        ("us-west-1", "disappeared", Decimal("3.100000"), False),
    ]
    async with sessions() as s:
        rows = (await s.execute(select(OfferRow).order_by(OfferRow.region))).scalars().all()
    # observed_at is when the row last changed: the unchanged poll at +3 h rewrote nothing
    assert [(r.region, r.price_per_hour, r.observed_at) for r in rows] == [
        ("eu-central-1", Decimal("3.500000"), T0 + timedelta(hours=2)),
        ("us-east-1", Decimal("2.490000"), T0 + timedelta(hours=2)),
    ]
    assert rows[1].first_seen_at == T0
    assert rows[1].gpu_slug == "h100-sxm"


async def test_ingest_is_scoped_to_its_source(sessions):
    await ingest(sessions, [offer()], T0)
    other = Offer(source="runpod", instance_type="x", gpu_raw_name="RTX 4090", gpu_count=Decimal(1),
                  price_per_hour=Decimal("0.69"), region="EU-RO-1", buy_url="https://runpod.io")
    async with sessions() as s, s.begin():
        await ingest_offers(s, "runpod", [other], T0)
    await ingest(sessions, [], T0 + timedelta(hours=1))  # lambda's empties; runpod's stays
    async with sessions() as s:
        sources = (await s.execute(select(OfferRow.source, func.count()).group_by(OfferRow.source))).all()
    assert dict(sources) == {"runpod": 1}


async def test_money_is_exact(sessions):
    await ingest(sessions, [offer(price="23.92", count=8), offer(region="x", price="0.000001")], T0)
    async with sessions() as s:
        prices = sorted((await s.execute(select(OfferRow.price_per_gpu_hour))).scalars())
    assert prices == [Decimal("0.000001"), Decimal("2.990000")]
