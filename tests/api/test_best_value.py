"""Best value never marks an offer reported unavailable; "available" hides unreported availability
unless include_unreported; sort=tflop_price orders by $ per dense FP16/BF16 TFLOP-hour."""

from __future__ import annotations

from decimal import Decimal

import pytest

from providers.gpus import GPUS
from tests.api.conftest import OFFERS, recent
from tests.support.factories import make_offer, seed

# The cheapest H100 is sold out, the next one is bookable, one more does not report availability.
H100S = [
    make_offer("runpod", "H100 SXM", "1.49", available=False, instance_type="sold-out"),
    make_offer("lambdalabs", "H100 SXM", "2.49", available=True, instance_type="bookable"),
    make_offer("vastai", "H100 SXM", "2.59", available=None, instance_type="unreported"),
]


async def page_of(client, query: str) -> dict:
    response = await client.get(f"/api/v1/prices?{query}")
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("query", ["", "gpu=h100-sxm"], ids=["broad", "gpu-filter"])  # both query plans
async def test_best_value_is_never_an_offer_reported_unavailable(client, sessions, query):
    await seed(sessions, H100S, at=recent())

    body = await page_of(client, query)

    assert body["best_price_per_gpu_hour"] == "2.490000"
    assert [i["instance_type"] for i in body["items"] if i["best_value"]] == ["bookable"]


async def test_available_hides_unreported_unless_asked(client, sessions):
    await seed(sessions, H100S, at=recent())

    only = await page_of(client, "available=true")
    with_unreported = await page_of(client, "available=true&include_unreported=true")
    everything = await page_of(client, "")

    assert [i["instance_type"] for i in only["items"]] == ["bookable"]
    assert [i["instance_type"] for i in with_unreported["items"]] == ["bookable", "unreported"]
    assert [i["instance_type"] for i in everything["items"]] == ["sold-out", "bookable", "unreported"]


def per_tflop(item: dict) -> Decimal | None:
    if item["gpu"] is None:
        return None
    return Decimal(item["price_per_gpu_hour"]) / GPUS[item["gpu"]["slug"]].specs.fp16_tflops


async def test_sort_by_price_per_dense_tflop_hour(client, sessions):
    # An A100 cheaper per GPU-hour than an H100 but dearer per TFLOP by about 1e-8 $: the order must
    # come from the exact quotient, not from the price or a rounded one.
    close = [make_offer("lambdalabs", "H100 SXM", "2.99", instance_type="h100-close"),
             make_offer("runpod", "A100 SXM4 80GB", "0.943260", instance_type="a100-close")]
    assert Decimal("0") < Decimal("0.943260") / 312 - Decimal("2.99") / 989 < Decimal("1e-7")
    await seed(sessions, list(OFFERS.values()) + close, at=recent())

    body = await page_of(client, "sort=tflop_price&per_page=100")
    items = body["items"]
    values = [per_tflop(i) for i in items]

    known = [v for v in values if v is not None]
    assert known == sorted(known) and len(known) == len(items) - 1
    assert values[-1] is None and items[-1]["instance_type"] == "mystery"  # no catalog specs: last
    order = [i["instance_type"] for i in items]
    assert order.index("h100-close") < order.index("a100-close")
    for item, value in zip(items, values):
        expected = None if value is None else format(value.quantize(Decimal("1e-8")), "f")
        assert item["price_per_tflop_hour"] == expected
    assert (await client.get("/api/v1/prices?sort=tflop_pric")).status_code == 400
