"""Price history over several polls: daily min/median/max per GPU and the raw change events."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.db.types import utcnow
from app.services.history import day_bounds, refresh_daily_stats
from tests.support.factories import make_offer, seed

TODAY = utcnow().date()
D0, D1 = TODAY - timedelta(days=2), TODAY - timedelta(days=1)
T0 = day_bounds(D0)[0] + timedelta(hours=10)
T1 = day_bounds(D1)[0] + timedelta(hours=10)
T2 = day_bounds(TODAY)[0]  # midnight: never in the future, whenever the test runs

H1 = make_offer("lambdalabs", "H100 SXM", "2.99", instance_type="h100-1x")
H1_CHEAPER = make_offer("lambdalabs", "H100 SXM", "2.79", instance_type="h100-1x")
H8 = make_offer("lambdalabs", "H100 SXM", "19.92", count=8, region="us-west-1", instance_type="h100-8x")
A100 = make_offer("lambdalabs", "A100 SXM4 40GB", "1.29", memory=40, instance_type="a100-40")
SPOT = make_offer("runpod", "H100 SXM", "1.75", spot=True, region="US-TX-3", available=False, instance_type="h100-spot")


@pytest.fixture
async def changes(sessions):
    """Three polls: H1 and A100 appear (+ a spot offer elsewhere); H1 gets cheaper, H8 appears and
    A100 disappears; H8 disappears. Then the daily job summarizes the three days."""
    await seed(sessions, [H1, A100], at=T0)
    await seed(sessions, [SPOT], at=T0)
    await seed(sessions, [H1_CHEAPER, H8], at=T1)
    await seed(sessions, [H1_CHEAPER], at=T2)
    async with sessions() as session, session.begin():
        for day in (D0, D1, TODAY):
            await refresh_daily_stats(session, day)


def point(day, low, median, high, count):
    return {"day": day.isoformat(), "min_price_per_gpu_hour": low, "median_price_per_gpu_hour": median,
            "max_price_per_gpu_hour": high, "offer_count": count}


async def test_daily_series_follows_the_changes(client, changes):
    response = await client.get("/api/v1/gpus/h100-sxm/history?days=3")
    assert response.status_code == 200
    body = response.json()
    assert (body["gpu"], body["market"], body["days"], body["since"]) == ("h100-sxm", "on-demand", 3, D0.isoformat())
    assert [s["gpu"]["slug"] for s in body["series"]] == ["h100-sxm"]
    assert body["series"][0]["points"] == [
        point(D0, "2.990000", "2.990000", "2.990000", 1),
        # the day's prices: H1 carried in at 2.99, then H8 at 2.49 and H1 at 2.79
        point(D1, "2.490000", "2.790000", "2.990000", 3),
        point(TODAY, "2.490000", "2.640000", "2.790000", 2),
    ]


async def test_daily_series_window_market_and_family(client, changes):
    two_days = (await client.get("/api/v1/gpus/h100-sxm/history?days=2")).json()
    assert two_days["since"] == D1.isoformat()
    assert [p["day"] for p in two_days["series"][0]["points"]] == [D1.isoformat(), TODAY.isoformat()]

    spot = (await client.get("/api/v1/gpus/h100-sxm/history?days=3&market=spot")).json()
    assert spot["market"] == "spot"
    assert spot["series"][0]["points"] == [point(d, "1.750000", "1.750000", "1.750000", 1) for d in (D0, D1, TODAY)]

    family = (await client.get("/api/v1/gpus/h100/history?days=3")).json()
    assert family["gpu"] == "h100" and [s["gpu"]["slug"] for s in family["series"]] == ["h100-sxm"]

    a100 = (await client.get("/api/v1/gpus/a100/history")).json()  # default: 30 days, on-demand
    assert (a100["days"], a100["market"]) == (30, "on-demand")
    assert [s["gpu"]["slug"] for s in a100["series"]] == ["a100-sxm-40gb"]
    assert [p["day"] for p in a100["series"][0]["points"]] == [D0.isoformat(), D1.isoformat()]

    assert (await client.get("/api/v1/gpus/b200/history")).json()["series"] == []


def event(item):
    return (datetime.fromisoformat(item["observed_at"]), item["provider"]["name"], item["event"], item["offer_key"],
            item["market"], item["price_per_hour"], item["price_per_gpu_hour"], item["available"])


H100_EVENTS = [
    (T0, "lambdalabs", "appeared", H1.offer_key, "on-demand", "2.990000", "2.990000", True),
    (T0, "runpod", "appeared", SPOT.offer_key, "spot", "1.750000", "1.750000", False),
    (T1, "lambdalabs", "appeared", H8.offer_key, "on-demand", "19.920000", "2.490000", True),
    (T1, "lambdalabs", "changed", H1.offer_key, "on-demand", "2.790000", "2.790000", True),
    (T2, "lambdalabs", "disappeared", H8.offer_key, "on-demand", "19.920000", "2.490000", True),
]


async def test_change_events_of_a_gpu(client, changes):
    response = await client.get("/api/v1/history?gpu=h100-sxm")
    assert response.status_code == 200
    body = response.json()
    assert [event(i) for i in body["items"]] == H100_EVENTS
    assert (body["total"], body["page"], body["pages"]) == (5, 1, 1)
    assert {i["gpu"]["slug"] for i in body["items"]} == {"h100-sxm"}
    assert (await client.get("/api/v1/history?gpu=h100")).json()["items"] == body["items"]

    a100 = (await client.get("/api/v1/history?gpu=a100-sxm-40gb")).json()["items"]
    assert [(i["event"], datetime.fromisoformat(i["observed_at"])) for i in a100] == [("appeared", T0), ("disappeared", T1)]


async def test_change_events_since_and_pages(client, changes):
    since = (await client.get(f"/api/v1/history?gpu=h100-sxm&since={D1.isoformat()}")).json()
    assert [event(i) for i in since["items"]] == H100_EVENTS[2:]
    today = (await client.get(f"/api/v1/history?gpu=h100-sxm&since={TODAY.isoformat()}")).json()
    assert [event(i) for i in today["items"]] == H100_EVENTS[4:]

    pages = [(await client.get(f"/api/v1/history?gpu=h100-sxm&per_page=2&page={n}")).json() for n in (1, 2, 3)]
    assert [[event(i) for i in p["items"]] for p in pages] == [H100_EVENTS[0:2], H100_EVENTS[2:4], H100_EVENTS[4:]]
    assert [(p["total"], p["pages"]) for p in pages] == [(5, 3)] * 3
    assert pages[1]["links"] == {
        "self": "/api/v1/history?gpu=h100-sxm&per_page=2&page=2",
        "next": "/api/v1/history?gpu=h100-sxm&per_page=2&page=3",
        "prev": "/api/v1/history?gpu=h100-sxm&per_page=2&page=1",
    }
    assert pages[2]["links"]["next"] is None
