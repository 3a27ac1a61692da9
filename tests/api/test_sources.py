"""GET /api/v1/sources (fetch status, freshness) and /api/v1/unknown-gpus."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import httpx

from app.services.polling import poll_source
from app.settings import ProviderKeys, Settings
from providers.registry import SOURCES, get_source_class
from tests.api.conftest import recent
from tests.support.factories import make_offer, seed

LAMBDA_OFFERS = [make_offer("lambdalabs", "H100 SXM", "2.99", instance_type=f"h100-{n}x", count=n) for n in (1, 2, 8)]


async def sources_by_name(client) -> dict[str, dict]:
    response = await client.get("/api/v1/sources")
    assert response.status_code == 200
    items = response.json()["items"]
    names = [s["name"] for s in items]
    assert names == sorted(names) and set(names) <= set(SOURCES)
    return {s["name"]: s for s in items}


async def test_a_polled_source_is_live_with_its_counts(client, sessions):
    at = recent()
    await seed(sessions, LAMBDA_OFFERS, at=at)
    lam = (await sources_by_name(client))["lambdalabs"]
    assert datetime.fromisoformat(lam.pop("last_success_at")) == at
    assert datetime.fromisoformat(lam.pop("last_attempt_at")) == at
    assert datetime.fromisoformat(lam["freshness"].pop("as_of")) == at
    assert lam == {
        "name": "lambdalabs", "display_name": "Lambda", "kind": "provider", "homepage": "https://lambda.ai",
        "requires_key": True, "poll_interval_seconds": get_source_class("lambdalabs").POLL_INTERVAL_SECONDS,
        "freshness": {"state": "live", "label": "live: updated 5 min ago"},
        "last_error": None, "last_error_at": None, "offer_count": 3, "skipped_count": 0,
        "last_duration_ms": None, "consecutive_failures": 0,
    }


async def test_a_source_never_polled_has_no_data(client, sessions):
    lam = (await sources_by_name(client))["lambdalabs"]
    assert lam["freshness"] == {"state": "no_data", "label": "no data yet", "as_of": None}
    assert (lam["offer_count"], lam["last_success_at"]) == (0, None)


async def test_a_failed_poll_makes_the_source_stale_and_keeps_its_prices(client, sessions):
    last_good = recent() - timedelta(minutes=10)
    await seed(sessions, LAMBDA_OFFERS, at=last_good)
    failed_at = recent()
    settings = replace(Settings(), provider_keys=ProviderKeys(lambdalabs="test-key-not-real"))
    down = httpx.MockTransport(lambda request: httpx.Response(503, text="down for maintenance"))
    async with httpx.AsyncClient(transport=down) as http:
        outcome = await poll_source("lambdalabs", settings, sessions, http, now=failed_at)
    assert outcome.status == "failed"

    lam = (await sources_by_name(client))["lambdalabs"]
    assert lam["freshness"]["state"] == "stale"
    assert lam["freshness"]["label"] == "stale: updated 15 min ago"  # the age of the last good prices
    assert datetime.fromisoformat(lam["freshness"]["as_of"]) == last_good
    assert datetime.fromisoformat(lam["last_success_at"]) == last_good
    assert datetime.fromisoformat(lam["last_error_at"]) == failed_at
    assert "503" in lam["last_error"] and "down for maintenance" in lam["last_error"]
    assert lam["consecutive_failures"] == 1

    prices = (await client.get("/api/v1/prices?provider=lambdalabs")).json()
    assert prices["total"] == 3  # the last good prices stay listed, marked stale
    assert {i["freshness"]["state"] for i in prices["items"]} == {"stale"}
    assert {i["freshness"]["label"] for i in prices["items"]} == {"stale: updated 15 min ago"}


async def test_unknown_gpu_names_with_counts(client, sessions):
    await seed(sessions, [
        make_offer("vastai", "Mystery X1000", "1.00", instance_type="m1"),
        make_offer("runpod", "Mystery X1000", "1.00", instance_type="m1"),
        make_offer("runpod", "Mystery X1000", "2.00", count=2, instance_type="m2"),
        make_offer("runpod", "Quantum QPU", "9.00", instance_type="q"),
        make_offer("runpod", "RTX 4090", "0.69", memory=24, instance_type="known"),
    ], at=recent())
    response = await client.get("/api/v1/unknown-gpus")
    assert response.status_code == 200
    assert [(i["provider"]["name"], i["raw_name"], i["offer_count"]) for i in response.json()["items"]] == [
        ("runpod", "Mystery X1000", 2),
        ("runpod", "Quantum QPU", 1),
        ("vastai", "Mystery X1000", 1),
    ]


async def test_no_unknown_gpus(client, offers):
    items = (await client.get("/api/v1/unknown-gpus")).json()["items"]
    assert [(i["provider"]["name"], i["raw_name"]) for i in items] == [("vastai", "Mystery X1000")]


async def test_offers_of_a_source_no_longer_registered_still_list_by_its_name(client, sessions):
    await seed(sessions, [make_offer("retired-cloud", "H100 SXM", "2.10")], at=recent())
    body = (await client.get("/api/v1/prices")).json()
    assert [item["provider"] for item in body["items"]] == [{"name": "retired-cloud", "display_name": "retired-cloud"}]
    assert (await client.get("/")).status_code == 200
