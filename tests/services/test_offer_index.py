"""The in-memory offers of a data version (app/services/offer_index.py) answer every filter exactly
as the SQL path (``list_offers``) does, on SQLite and PostgreSQL, and a new version is loaded
after a poll changes a price."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update

from app.db.engine import make_engine
from app.db.models import Offer
from app.services.offer_index import OfferReadModel
from app.services.prices import PRICE_BASES, SORTS, PriceQuery, list_offers
from tests.support.factories import NOW, make_offer, seed

SOURCES = ["lambdalabs", "runpod", "vastai", "aws", "azure", "sandbox"]
GPUS = ["H100 SXM", "H100 PCIe", "A100 SXM", "A100 80GB", "RTX 4090", "L40S", "MI300X", "A10", "L4", "Mystery GPU 9000"]
COUNTS = ["0.125", "0.5", "1", "1", "2", "4", "8"]
REGIONS = ["us-east-1", "US-West-2", "eu-central-1", "ap-south", "Europe (Paris)"]
PRICES = ["0.25", "0.5", "1.10", "1.99", "2.99", "2.99", "4.5", "12.345678", "0.000001"]  # ties on purpose


def catalog(rng: random.Random) -> dict[str, list[Offer]]:
    by_source: dict[str, list[Offer]] = {}
    for n in range(240):
        source, gpu, count = rng.choice(SOURCES), rng.choice(GPUS), rng.choice(COUNTS)
        shape = f"{gpu.lower().replace(' ', '-')}-x{count}-{rng.randrange(40)}"
        for spot in ([False, True] if rng.random() < 0.3 else [rng.random() < 0.3]):  # some shapes in both markets
            by_source.setdefault(source, []).append(make_offer(
                source, gpu, rng.choice(PRICES) if rng.random() < 0.5 else f"{rng.uniform(0.1, 40):.6f}",
                count=count, region=rng.choice(REGIONS), spot=spot,
                memory=rng.choice([None, 16, 24, 48, 80, 192]), instance_type=shape,
                available=rng.choice([None, True, False])))
    return by_source


def random_query(rng: random.Random) -> PriceQuery:
    def maybe(values):  # each filter in about one query of four: most queries still match offers
        return rng.choice(values) if rng.random() < 0.25 else None

    low, high = maybe(["0", "0.125", "1", "2"]), maybe(["0.5", "1", "8", "64"])
    if low is not None and high is not None and Decimal(low) > Decimal(high):
        low, high = high, low
    return PriceQuery(
        gpu=maybe(["h100", "h100-sxm", "a100", "rtx-4090", "l40s", "mi300x", "l4"]),
        min_memory_gb=maybe([0, 24, 48, 80]), min_gpus=None if low is None else Decimal(low),
        max_gpus=None if high is None else Decimal(high), min_total_memory_gb=maybe([0, 40, 80, 320]),
        max_price=maybe([Decimal("0.5"), Decimal("2.99"), Decimal("2.9900001"), Decimal("10")]),
        providers=tuple(rng.sample(SOURCES[:5], rng.choice([0, 0, 0, 1, 2]))),
        region=maybe(["us", "EAST", "europe (", "ap-south", "nowhere"]), spot=maybe([True, False]),
        available_only=rng.random() < 0.2, include_unreported=rng.random() < 0.5,
        price_basis=tuple(rng.sample(PRICE_BASES, rng.choice([0, 0, 0, 1, 2]))),
        include_unknown=rng.random() < 0.8, include_simulated=rng.random() < 0.3,
        sort=rng.choice(list(SORTS)), page=rng.choice([1, 1, 2, 3]), per_page=rng.choice([1, 7, 50]),
    )


async def seeded(sessions, seed_number: int) -> None:
    rng = random.Random(seed_number)
    for hours, (source, offers) in enumerate(catalog(rng).items()):  # a poll time of its own per source
        await seed(sessions, offers, at=NOW - timedelta(hours=hours))


async def test_every_filter_answers_as_the_sql_path(sessions):
    await seeded(sessions, 3)
    model, rng, now = OfferReadModel(sessions), random.Random(12), NOW + timedelta(minutes=7)
    answered: list[int] = []
    async with sessions() as session:
        for n in range(400):
            query = random_query(rng)
            expected = await list_offers(session, query, now)
            got = await model.list_offers(query, "v1", now)
            assert (got.total, got.best_by_basis) == (expected.total, expected.best_by_basis), (n, query)
            assert got.items == expected.items, (n, query)
            answered.append(len(expected.items))
    assert model.loads == 1
    assert sum(1 for items in answered if items > 1) > len(answered) // 4  # the filters leave offers to order


@pytest.mark.parametrize("sort", list(SORTS))
async def test_each_sort_walks_every_page_in_the_sql_order(sessions, sort):
    await seeded(sessions, 5)
    model = OfferReadModel(sessions)
    query = PriceQuery(sort=sort, per_page=500, include_simulated=True)
    async with sessions() as session:
        expected = await list_offers(session, query, NOW)
    got = await model.list_offers(query, "v1", NOW)
    assert expected.total > 200 and [v.id for v in got.items] == [v.id for v in expected.items]


async def test_a_region_with_like_wildcards_answers_as_the_database_does(sessions):
    await seed(sessions, [make_offer(region="us_east"), make_offer("runpod", region="us-east")], at=NOW)
    model = OfferReadModel(sessions)
    for region in ("us_east", "us%east", "s\\_e"):
        query = PriceQuery(region=region)
        async with sessions() as session:
            expected = await list_offers(session, query, NOW)
        assert (await model.list_offers(query, "v1", NOW)).items == expected.items


async def test_a_new_version_is_loaded_and_shows_the_new_price(sessions, database_url):
    await seed(sessions, [make_offer("lambdalabs", "H100 SXM", "2.99")], at=NOW)
    model = OfferReadModel(sessions)
    query = PriceQuery()
    assert [v.price_per_hour for v in (await model.list_offers(query, "v1", NOW)).items] == [Decimal("2.99")]
    other_process = make_engine(database_url)
    try:
        async with other_process.begin() as conn:
            await conn.execute(update(Offer).values(price_per_hour=Decimal("1.99"), price_per_gpu_hour=Decimal("1.99")))
    finally:
        await other_process.dispose()
    assert [v.price_per_hour for v in (await model.list_offers(query, "v1", NOW)).items] == [Decimal("2.99")]
    assert [v.price_per_hour for v in (await model.list_offers(query, "v2", NOW)).items] == [Decimal("1.99")]
    assert model.loads == 2


async def test_the_api_shows_a_polled_price_change_on_the_next_request(sessions, engine):
    from app.server import create_app
    from app.settings import CacheSettings, Settings
    from litestar.testing import AsyncTestClient

    await seed(sessions, [make_offer("lambdalabs", "H100 SXM", "2.99")], at=NOW)
    app = create_app(replace(Settings(), cache=CacheSettings(backend="memory")), engine=engine, run_worker=False)
    async with AsyncTestClient(app=app) as client:
        assert app.state.offer_read_model.loads == 1  # loaded as the app started
        assert (await client.get("/api/v1/prices?gpu=h100")).json()["items"][0]["price_per_hour"] == "2.990000"
        await seed(sessions, [make_offer("lambdalabs", "H100 SXM", "1.99")], at=NOW + timedelta(minutes=5))
        assert (await client.get("/api/v1/prices?gpu=h100")).json()["items"][0]["price_per_hour"] == "1.990000"
        assert (await client.get("/api/v1/prices?sort=-price")).json()["items"][0]["price_per_hour"] == "1.990000"
    assert app.state.offer_read_model.loads == 2
