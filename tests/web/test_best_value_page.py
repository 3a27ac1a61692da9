"""The dashboard's best-value badge, its explanation, "include not reported" and $/TFLOP-h."""

from __future__ import annotations

from decimal import Decimal

from tests.support.factories import make_offer, seed
from tests.web.conftest import get_page, minutes_ago
from tests.web.test_dashboard import cell, offer_rows

OFFERS = [
    make_offer("runpod", "H100 SXM", "1.49", available=False, instance_type="sold-out"),
    make_offer("lambdalabs", "H100 SXM", "2.49", available=True, instance_type="bookable"),
    make_offer("vastai", "H100 SXM", "2.59", available=None, instance_type="unreported"),
    make_offer("vastai", "Mystery X1000", "0.99", available=True, instance_type="mystery"),
]


async def test_the_badge_skips_a_cheaper_sold_out_offer_and_says_what_it_means(client, sessions):
    await seed(sessions, OFFERS, at=minutes_ago(3))

    doc = await get_page(client, "/?gpu=h100-sxm")

    badged = [r for r in offer_rows(doc) if "best" in r.classes]
    assert [Decimal(r.get("data-price")) for r in badged] == [Decimal("2.49")]
    assert "Best value" in badged[0].text
    meaning = doc.one("p", id="best-value-meaning").text
    assert "lowest price per GPU-hour" in meaning and "never an offer its provider reports unavailable" in meaning


async def test_available_now_hides_unreported_unless_ticked(client, sessions):
    await seed(sessions, OFFERS, at=minutes_ago(3))

    only = await get_page(client, "/?gpu=h100-sxm&available=1")
    both = await get_page(client, "/?gpu=h100-sxm&available=1&unreported=1")

    assert [Decimal(r.get("data-price")) for r in offer_rows(only)] == [Decimal("2.49")]
    assert [Decimal(r.get("data-price")) for r in offer_rows(both)] == [Decimal("2.49"), Decimal("2.59")]
    box = both.one("form", class_="filters").one("input", name="unreported")
    assert "checked" in box.attrs
    # Sort links keep the choice.
    header = both.one("a", data_sort_column="tflop_price").get("href")
    assert "available=1" in header and "unreported=1" in header and "sort=tflop_price" in header


async def test_the_tflop_hour_column_sorts_and_unknown_gpus_come_last(client, sessions):
    await seed(sessions, OFFERS, at=minutes_ago(3))

    doc = await get_page(client, "/?sort=tflop_price")

    rows = offer_rows(doc)
    assert [Decimal(r.get("data-price")) for r in rows] == [Decimal("1.49"), Decimal("2.49"), Decimal("2.59"),
                                                            Decimal("0.99")]
    assert cell(rows[1], "tflop-price") == f"${(Decimal('2.49') / 989).quantize(Decimal('0.00001'))}"
    assert cell(rows[-1], "tflop-price") == "–"  # not in the catalog: no value measure
    assert doc.one("th", aria_sort="ascending").text.startswith("$/TFLOP-h")
