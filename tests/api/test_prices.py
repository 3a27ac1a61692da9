"""GET /api/v1/prices: filters, sorting, pagination and exactly what each item says."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from app.db.models import OFFER_ORIGIN_SNAPSHOT
from providers.lambdalabs import LambdaSource
from tests.api.conftest import OFFERS, recent
from tests.support.factories import make_offer, seed

BY_PRICE = ["4090-2x", "4090-1x", "mystery", "a100-40", "h100-spot", "h100-pcie", "h100-8x", "h100-1x"]


async def instance_types(client, query: str) -> list[str]:
    response = await client.get(f"/api/v1/prices?{query}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])  # these queries fit on one page
    return [item["instance_type"] for item in body["items"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", BY_PRICE),
        ("gpu=h100", ["h100-spot", "h100-pcie", "h100-8x", "h100-1x"]),
        ("gpu=h100-sxm", ["h100-spot", "h100-8x", "h100-1x"]),
        ("gpu=RTX-4090", ["4090-2x", "4090-1x"]),
        ("min_memory=30", ["mystery", "a100-40", "h100-spot", "h100-pcie", "h100-8x", "h100-1x"]),
        ("max_price=1.29", ["4090-2x", "4090-1x", "mystery", "a100-40"]),
        ("max_price=1.289999", ["4090-2x", "4090-1x", "mystery"]),
        ("provider=runpod,vastai", ["4090-2x", "4090-1x", "mystery", "h100-spot", "h100-pcie"]),
        ("provider=runpod&provider=lambdalabs", ["4090-1x", "a100-40", "h100-spot", "h100-pcie", "h100-8x", "h100-1x"]),
        ("provider=vastai&provider=runpod,lambdalabs", BY_PRICE),
        ("region=eu-ro", ["4090-1x", "h100-pcie"]),
        ("spot=true", ["h100-spot"]),
        ("spot=false", [t for t in BY_PRICE if t != "h100-spot"]),
        ("available=true", [t for t in BY_PRICE if t not in ("h100-spot", "4090-2x")]),  # reported available only
        ("available=true&include_unreported=true", [t for t in BY_PRICE if t != "h100-spot"]),
        ("gpu=h100&spot=false&max_price=2.5", ["h100-pcie", "h100-8x"]),
        ("gpu=a100&provider=runpod", []),
    ],
)
async def test_filters(client, offers, query, expected):
    assert await instance_types(client, query) == expected


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("price", BY_PRICE),
        ("-price", list(reversed(BY_PRICE))),
        ("instance_price", ["4090-1x", "4090-2x", "mystery", "a100-40", "h100-spot", "h100-pcie", "h100-1x", "h100-8x"]),
        ("-instance_price", ["h100-8x", "h100-1x", "h100-pcie", "h100-spot", "a100-40", "mystery", "4090-2x", "4090-1x"]),
        # by catalog slug, cheapest first within a GPU; unknown GPUs last on both databases
        ("gpu", ["a100-40", "h100-pcie", "h100-spot", "h100-8x", "h100-1x", "4090-2x", "4090-1x", "mystery"]),
        ("provider", ["a100-40", "h100-8x", "h100-1x", "4090-1x", "h100-spot", "h100-pcie", "4090-2x", "mystery"]),
        # most memory first; unknown memory last on both databases
        ("memory", ["h100-spot", "h100-pcie", "h100-8x", "h100-1x", "a100-40", "mystery", "4090-1x", "4090-2x"]),
        ("gpus", ["h100-8x", "4090-2x", "4090-1x", "mystery", "a100-40", "h100-spot", "h100-pcie", "h100-1x"]),
    ],
)
async def test_sorting(client, offers, sort, expected):
    assert await instance_types(client, f"sort={sort}") == expected


async def test_sort_by_update_time_newest_first(client, sessions):
    at = recent()
    by_source = {"lambdalabs": at - timedelta(hours=2), "runpod": at - timedelta(hours=1), "vastai": at}
    for source, when in by_source.items():
        await seed(sessions, [o for o in OFFERS.values() if o.source == source], at=when)
    body = (await client.get("/api/v1/prices?sort=updated")).json()
    got = [(item["provider"]["name"], item["instance_type"]) for item in body["items"]]
    # offers seen at the same time come in id order, which the database assigns: compare groups
    assert [source for source, _ in got] == ["vastai"] * 2 + ["runpod"] * 3 + ["lambdalabs"] * 3
    assert {t for s, t in got if s == "runpod"} == {"h100-pcie", "h100-spot", "4090-1x"}


async def test_pagination_pages_links_and_best_value(client, offers):
    pages = []
    for number in (1, 2, 3, 4):
        response = await client.get(f"/api/v1/prices?gpu=&per_page=3&page={number}")
        assert response.status_code == 200
        pages.append(response.json())
    assert [[i["instance_type"] for i in p["items"]] for p in pages] == [BY_PRICE[0:3], BY_PRICE[3:6], BY_PRICE[6:], []]
    for number, page in enumerate(pages, start=1):
        assert (page["page"], page["per_page"], page["total"], page["pages"]) == (number, 3, 8, 3)
        # "best value" is over everything that matches, not just the page shown, per price basis:
        # Vast's whole machine (0.35) and RunPod's GPU rate (0.69) are each the best of their kind.
        assert page["best_price_per_gpu_hour"] == "0.350000"
        assert page["best_price_basis"] == "instance"
        assert page["best_prices"] == [
            {"price_basis": "instance", "best_price_per_gpu_hour": "0.350000"},
            {"price_basis": "gpu_only", "best_price_per_gpu_hour": "0.690000"},
        ]
    assert [i["best_value"] for p in pages for i in p["items"]] == [True, True] + [False] * 6
    assert pages[0]["links"] == {
        "self": "/api/v1/prices?gpu=&per_page=3&page=1",
        "next": "/api/v1/prices?gpu=&per_page=3&page=2",
        "prev": None,
    }
    assert pages[2]["links"]["next"] is None
    assert pages[2]["links"]["prev"] == "/api/v1/prices?gpu=&per_page=3&page=2"


async def test_links_keep_every_filter(client, offers):
    body = (await client.get("/api/v1/prices?provider=runpod&provider=vastai&sort=-price&per_page=2&page=2")).json()
    assert [i["instance_type"] for i in body["items"]] == ["mystery", "4090-1x"]
    assert body["links"]["next"] == "/api/v1/prices?provider=runpod&provider=vastai&sort=-price&per_page=2&page=3"
    assert body["links"]["prev"] == "/api/v1/prices?provider=runpod&provider=vastai&sort=-price&per_page=2&page=1"


async def test_an_item_says_everything_with_exact_money(client, offers):
    body = (await client.get("/api/v1/prices?provider=lambdalabs&sort=gpus")).json()
    item = body["items"][0]
    assert isinstance(item.pop("id"), int)
    observed = datetime.fromisoformat(item.pop("observed_at"))
    assert observed == offers and observed.utcoffset() == timedelta(0)
    assert item == {
        "provider": {"name": "lambdalabs", "display_name": "Lambda"},
        "instance_type": "h100-8x",
        "gpu": {"slug": "h100-sxm", "name": "H100 SXM 80GB", "family": "h100", "memory_gb": 80, "form_factor": "SXM",
                "form_factor_stated": True},
        "gpu_raw_name": "H100 SXM",
        "gpu_count": 8,
        "gpu_memory_gb": 80,
        "vcpus": None,
        "ram_gb": None,
        "disk_gb": None,
        "region": "us-west-1",
        "market": "on-demand",
        "price_per_hour": "19.920000",
        "price_per_gpu_hour": "2.490000",
        "currency": "USD",
        "available": True,
        "buy_url": "https://example-provider.test/pricing",
        "age": "5 min ago",
        "origin": "live",
        "freshness": {"state": "live", "label": "live: updated 5 min ago", "as_of": item["freshness"]["as_of"]},
        "best_value": False,
        "price_per_tflop_hour": "0.00251769",  # 2.49 / 989 dense FP16 TFLOPS
        "total_gpu_memory_gb": 640,
        "interconnect": "NVLink",  # an SXM board
        "on_demand_price_per_gpu_hour": "2.490000",
        "spot_price_per_gpu_hour": None,  # Lambda lists no spot market for this shape
        "converted_from": None,  # Lambda prices in USD
        "price_basis": "instance",  # Lambda prices whole instance types
        "price_includes": LambdaSource.PRICE_INCLUDES,
        "cpu_arch": None,  # Lambda does not say, and an H100 does not imply it
        "boot_seconds_min": None,  # not published
        "boot_seconds_max": None,
    }
    assert datetime.fromisoformat(item["freshness"]["as_of"]) == offers


async def test_money_strings_are_exact_and_unknown_gpus_kept(client, offers):
    body = (await client.get("/api/v1/prices?provider=vastai")).json()
    items = {i["instance_type"]: i for i in body["items"]}
    assert (items["mystery"]["price_per_hour"], items["mystery"]["price_per_gpu_hour"]) == ("1.000003", "1.000003")
    assert items["mystery"]["gpu"] is None and items["mystery"]["gpu_raw_name"] == "Mystery X1000"
    assert (items["4090-2x"]["price_per_hour"], items["4090-2x"]["price_per_gpu_hour"]) == ("0.700000", "0.350000")
    assert items["4090-2x"]["gpu_count"] == 2 and items["4090-2x"]["available"] is None
    assert body["best_price_per_gpu_hour"] == "0.350000"

    spot = (await client.get("/api/v1/prices?spot=true")).json()["items"][0]
    assert (spot["market"], spot["available"], spot["price_per_gpu_hour"]) == ("spot", False, "1.750000")


async def test_sliced_gpu_count_and_third_cent_prices(client, sessions):
    await seed(sessions, [make_offer("vastai", "RTX 4090", "0.10", count="0.5", memory=24, instance_type="half"),
                          make_offer("vastai", "RTX 4090", "1.00", count=3, memory=24, instance_type="three")],
               at=recent())
    items = {i["instance_type"]: i for i in (await client.get("/api/v1/prices")).json()["items"]}
    assert (items["half"]["gpu_count"], items["half"]["price_per_gpu_hour"]) == (0.5, "0.200000")
    assert (items["three"]["gpu_count"], items["three"]["price_per_gpu_hour"]) == (3, "0.333333")


async def test_empty_database_answers_an_empty_page(client, sessions):
    body = (await client.get("/api/v1/prices")).json()
    assert (body["items"], body["total"], body["pages"], body["best_price_per_gpu_hour"]) == ([], 0, 1, None)
    assert body["links"] == {"self": "/api/v1/prices?page=1", "next": None, "prev": None}


async def test_snapshot_prices_are_labelled_as_snapshot(client, sessions):
    taken = datetime(2026, 10, 1, 6, 0, tzinfo=timezone.utc)
    await seed(sessions, [OFFERS["h100-1x"]], at=taken, origin=OFFER_ORIGIN_SNAPSHOT)
    await seed(sessions, [OFFERS["h100-pcie"]], at=recent())
    items = {i["instance_type"]: i for i in (await client.get("/api/v1/prices?gpu=h100")).json()["items"]}
    snap = items["h100-1x"]
    assert (snap["origin"], snap["age"]) == ("snapshot", "snapshot of 2026-10-01")
    assert snap["freshness"] == {"state": "snapshot", "label": "snapshot of 2026-10-01", "as_of": "2026-10-01T06:00:00Z"}
    assert datetime.fromisoformat(snap["observed_at"]) == taken
    live = items["h100-pcie"]
    assert (live["origin"], live["freshness"]["state"]) == ("live", "live")


async def test_a_source_not_polled_for_days_is_stale_with_its_age(client, sessions):
    last_good = recent() - timedelta(days=3)
    await seed(sessions, [OFFERS["h100-pcie"]], at=last_good)
    await seed(sessions, [OFFERS["h100-1x"]], at=recent())
    items = {i["instance_type"]: i for i in (await client.get("/api/v1/prices")).json()["items"]}
    stale = items["h100-pcie"]
    assert stale["freshness"]["state"] == "stale"
    assert stale["freshness"]["label"] == "stale: updated 3 days ago"
    assert datetime.fromisoformat(stale["freshness"]["as_of"]) == last_good
    assert stale["age"] == "3 days ago"
    assert items["h100-1x"]["freshness"]["state"] == "live"
