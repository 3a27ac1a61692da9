"""An offer priced in EUR is stored with its euro amount and the ECB rate used, survives the
snapshot, and is labelled on the pages and in the API as a conversion with the rate's date."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.db.models import Offer as OfferRow
from app.services.snapshot import read_snapshot, write_snapshot
from providers.base import Offer
from providers.fx import FxRate
from tests.support.factories import NOW, make_offer, seed
from tests.web.conftest import get_page

RATE = FxRate("EUR", Decimal("1.1625"), date(2026, 12, 2))
LABEL = "converted from EUR at the ECB rate of 2026-12-02"


def euro_offer() -> Offer:
    usd, how = RATE.convert(Decimal("0.38"))
    return Offer(source="seeweb", instance_type="ECS1GPU11", gpu_raw_name="L4", gpu_count=Decimal(1),
                 price_per_hour=usd, region="it-fr2", gpu_memory_gb=24,
                 buy_url="https://www.seeweb.it/en/products/cloud-server-gpu", converted_from=how)


async def test_the_euro_amount_and_rate_are_stored_with_the_usd_price(sessions):
    await seed(sessions, [euro_offer(), make_offer("lambdalabs", "L4", "0.50", memory=24)])
    async with sessions() as session:
        rows = {r.source: r for r in (await session.execute(select(OfferRow))).scalars()}
    row = rows["seeweb"]
    assert row.price_per_hour == Decimal("0.441750")
    assert (row.original_currency, row.original_price_per_hour) == ("EUR", Decimal("0.38"))
    assert (row.fx_usd_per_unit, row.fx_rate_date) == (Decimal("1.1625"), date(2026, 12, 2))
    assert rows["lambdalabs"].conversion is None


async def test_a_new_daily_rate_with_the_same_usd_price_is_no_price_change(sessions):
    from app.db.models import PriceHistory

    await seed(sessions, [euro_offer()])
    next_day = FxRate("EUR", Decimal("1.1625"), date(2026, 12, 3)).convert(Decimal("0.38"))[1]
    same_usd = dataclasses.replace(euro_offer(), converted_from=next_day)
    await seed(sessions, [same_usd])
    async with sessions() as session:
        events = (await session.execute(select(PriceHistory.event))).scalars().all()
        row = (await session.execute(select(OfferRow))).scalar_one()
    assert events == ["appeared"]
    assert row.fx_rate_date == date(2026, 12, 3)


async def test_pages_and_api_label_converted_prices(client, sessions):
    await seed(sessions, [euro_offer(), make_offer("lambdalabs", "L4", "0.50", memory=24)])
    doc = await get_page(client, "/?gpu=l4")
    rows = {r.get("data-provider"): r for r in doc.one("table", class_="offers").find_all("tr", class_="offer")}
    assert LABEL in rows["seeweb"].text and "€0.38/h" in rows["seeweb"].text
    assert "converted from" not in rows["lambdalabs"].text
    gpu_page = (await client.get("/gpus/l4")).text
    assert LABEL in gpu_page

    items = {i["provider"]["name"]: i for i in (await client.get("/api/v1/prices?gpu=l4")).json()["items"]}
    assert items["seeweb"]["price_per_hour"] == "0.441750" and items["seeweb"]["currency"] == "USD"
    assert items["seeweb"]["converted_from"] == {
        "currency": "EUR", "price_per_hour": "0.380000", "usd_per_unit": "1.162500", "rate_date": "2026-12-02",
        "rate_source": "ECB", "label": LABEL,
    }
    assert items["lambdalabs"]["converted_from"] is None


def test_the_snapshot_keeps_the_conversion(tmp_path):
    path = tmp_path / "snap.json.gz"
    write_snapshot(path, NOW, "test", {"seeweb": [euro_offer()], "lambdalabs": [make_offer()]})
    _taken, _note, offers = read_snapshot(path)
    assert offers["seeweb"] == [euro_offer()]
    assert offers["lambdalabs"][0].converted_from is None
