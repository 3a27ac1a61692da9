"""An /api/v1/prices page's JSON from the in-memory index (app/api/offer_json.py) is, byte for byte,
the encoding of the page's schema built the normal way, over random filters, at several moments of
one data version (each offer's JSON is kept per version; its age and freshness drift)."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from urllib.parse import urlencode

import msgspec
import pytest

from app.api import convert
from app.api.offer_json import KEPT, page_json, prepare
from app.api.pagination import links_for
from app.services.offer_index import OfferReadModel
from tests.services.test_offer_index import random_query, seeded
from tests.support.factories import NOW, make_offer, seed

PATH = "/api/v1/prices"


def expected_json(index, query, now, query_string: bytes) -> bytes:
    page = index.page(query, now)
    return msgspec.json.encode(convert.offer_page(page, links_for(PATH, query_string, page.page, page.pages)))


async def test_a_page_is_the_encoding_of_its_schema(sessions):
    await seeded(sessions, 3)
    model, rng = OfferReadModel(sessions), random.Random(7)
    compared = offers = 0
    for n in range(300):
        query = random_query(rng)
        index = await model.index_for(query, "v1")
        if index is None:  # a region the SQL path answers
            continue
        query_string = urlencode({"sort": query.sort, "page": query.page, "x": n}).encode()
        for minutes in (7, 7, 95, 60 * 30):  # the same offers' kept JSON, later: other ages, freshness
            now = NOW + timedelta(minutes=minutes)
            got = page_json(index, query, now, PATH, query_string)
            assert got == expected_json(index, query, now, query_string), (n, query, minutes)
        compared += 1
        offers += len(msgspec.json.decode(got)["items"])
    assert compared > 200 and offers > 1000


async def test_a_snapshot_offer_keeps_its_snapshot_age(sessions):
    await seed(sessions, [make_offer("lambdalabs", "H100 SXM", "2.99")], at=NOW, origin="snapshot")
    await seed(sessions, [make_offer("runpod", "H100 SXM", "2.49")], at=NOW)
    model = OfferReadModel(sessions)
    query = random_query(random.Random(1))
    query = type(query)(gpu="h100")
    index = await model.index_for(query, "v1")
    for minutes in (1, 600):
        now = NOW + timedelta(minutes=minutes)
        got = page_json(index, query, now, PATH, b"gpu=h100")
        assert got == expected_json(index, query, now, b"gpu=h100")
    assert b"snapshot of 2026-11-23" in got


async def test_an_offer_whose_text_holds_a_marker_is_encoded_whole(sessions, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL text cannot hold the NUL byte the markers are made of")
    await seed(sessions, [make_offer("lambdalabs", "H100 SXM", "2.99", instance_type="\x00age\x00"),
                          make_offer("runpod", "H100 SXM", "2.49")], at=NOW)
    model = OfferReadModel(sessions)
    query = type(random_query(random.Random(1)))(gpu="h100")
    index = await model.index_for(query, "v1")
    now = NOW + timedelta(minutes=3)
    got = page_json(index, query, now, PATH, b"gpu=h100")
    assert got == expected_json(index, query, now, b"gpu=h100")
    assert [item["instance_type"] for item in msgspec.json.decode(got)["items"]][1] == "\x00age\x00"
    assert sum(kept[1] is None for kept in index.memo(KEPT).values()) == 1  # encoded whole


async def test_a_load_prepares_every_offer_for_the_requests(sessions):
    await seeded(sessions, 3)
    model = OfferReadModel(sessions, prepare=prepare)
    await model.index("v1")
    newer = await model.index("v2")  # a new version while the first one was being prepared
    while model.preparing:
        await asyncio.sleep(0.01)
    assert len(newer.memo(KEPT)) == len(newer.records) > 200
    query = type(random_query(random.Random(1)))(sort="gpu", per_page=100)
    now = NOW + timedelta(minutes=3)
    assert page_json(newer, query, now, PATH, b"") == expected_json(newer, query, now, b"")
