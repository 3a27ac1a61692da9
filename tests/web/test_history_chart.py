"""The price-history chart (issue 11 item 12): gaps stay gaps, one variant at a time with a selector,
a lowest-to-median band per series, a log-scale toggle; and the chart's form rejects bad values
on the same page (item 5)."""

from __future__ import annotations

import json
from datetime import timedelta

from app.db.types import utcnow
from app.services.history import refresh_daily_stats
from app.services.ingest import ingest_offers
from tests.support.factories import make_offer, seed
from tests.web.conftest import get_page
from tests.web.html import Node, parse_html


async def refresh(sessions, days) -> None:
    for day in days:
        async with sessions() as session, session.begin():
            await refresh_daily_stats(session, day)


async def seeded_history(sessions):
    """H100 SXM at two providers for three days (the day they disappear counts), none for five days,
    back for three; H100 PCIe
    (a $12 outlier that would squash the rest) on the last three days. Returns the UTC days."""
    now = utcnow()
    day = [(now - timedelta(days=n)) for n in range(12, -1, -1)]  # day[0] is 12 days ago, day[12] today
    sxm = [make_offer("lambdalabs", "H100 SXM", "2.99"), make_offer("runpod", "H100 SXM", "2.49")]
    await seed(sessions, sxm, at=day[0])
    await seed(sessions, [make_offer("runpod", "H100 SXM", "2.39", spot=True)], at=day[0])
    await seed(sessions, [make_offer("lambdalabs", "H100 SXM", "2.89"), make_offer("runpod", "H100 SXM", "2.49")],
               at=day[1])
    for source in ("lambdalabs", "runpod"):  # every H100 offer disappears: no data for days 3..7
        async with sessions() as session, session.begin():
            await ingest_offers(session, source, [], day[2])
    await seed(sessions, [make_offer("lambdalabs", "H100 SXM", "2.79"), make_offer("runpod", "H100 PCIe", "12.00")],
               at=day[8])
    await refresh(sessions, [d.date() for d in day[:11]])
    return [d.date() for d in day]


def figure_of(doc: Node) -> dict:
    return json.loads(doc.one("div", id="price-history-chart").get("data-plotly-figure"))


def visible(figure: dict) -> list[dict]:
    return [t for t in figure["data"] if t.get("visible", True) is True]


async def test_a_day_without_data_breaks_the_line(client, sessions):
    days = await seeded_history(sessions)
    figure = figure_of(await get_page(client, "/gpus/h100-sxm"))
    median = next(t for t in figure["data"] if t["name"] == "H100 SXM 80GB on-demand median")
    lowest = next(t for t in figure["data"] if t["name"] == "H100 SXM 80GB on-demand lowest")
    points = dict(zip(median["x"], median["y"]))
    # the last day before the gap, a break on the first empty day, then the next day with data
    assert median["x"][:5] == [d.isoformat() for d in (days[0], days[1], days[2], days[3], days[8])]
    assert points[days[2].isoformat()] is not None
    assert points[days[3].isoformat()] is None
    assert lowest["y"][median["x"].index(days[3].isoformat())] is None
    assert median["connectgaps"] is False and lowest["connectgaps"] is False
    # nothing invented inside the gap: the break is one point, the next one has data again
    assert [x for x, y in points.items() if y is None] == [days[3].isoformat()]
    assert points[days[8].isoformat()] == 2.79


async def test_family_chart_shows_one_variant_at_a_time_with_a_selector(client, sessions):
    await seeded_history(sessions)
    figure = figure_of(await get_page(client, "/gpus/h100"))
    shown = visible(figure)
    # one variant: its on-demand and spot series, each a lowest line and a median line, 2 legend entries
    assert {t["meta"]["variant"] for t in shown} == {"h100-sxm"}
    assert sorted(t["name"] for t in shown if t.get("showlegend", True)) == [
        "H100 SXM 80GB on-demand median", "H100 SXM 80GB spot median"]
    hidden = [t for t in figure["data"] if t.get("visible") is False]
    assert {t["meta"]["variant"] for t in hidden} == {"h100-pcie"}
    # the selector: one button per variant, each making exactly that variant's traces visible
    menu = next(m for m in figure["layout"]["updatemenus"] if m["name"] == "variant")
    assert menu["type"] == "dropdown" and menu["active"] == 0
    assert [b["label"] for b in menu["buttons"]] == ["H100 SXM 80GB", "H100 PCIe 80GB"]
    for button, slug in zip(menu["buttons"], ["h100-sxm", "h100-pcie"]):
        flags = button["args"][0]["visible"]
        assert len(flags) == len(figure["data"])
        assert [t["meta"]["variant"] for t, on in zip(figure["data"], flags) if on] == [slug] * flags.count(True)
        assert flags.count(True) in (2, 4)  # one or two markets, two traces each


async def test_each_series_has_a_lowest_to_median_band(client, sessions):
    await seeded_history(sessions)
    figure = figure_of(await get_page(client, "/gpus/h100"))
    data = figure["data"]
    medians = [i for i, t in enumerate(data) if t["name"].endswith(" median")]
    assert len(medians) == 3  # SXM on-demand, SXM spot, PCIe on-demand
    for i in medians:
        assert data[i]["fill"] == "tonexty" and data[i]["fillcolor"].startswith("rgba(")
        assert data[i - 1]["name"] == data[i]["name"].replace(" median", " lowest")  # the band's floor
        assert all(lo is None or lo <= med for lo, med in zip(data[i - 1]["y"], data[i]["y"]))
    assert not any(t["name"].endswith(" max") for t in data)  # the highest is in the hover, not a band


async def test_log_scale_toggle_and_the_form_choose_what_is_drawn(client, sessions):
    await seeded_history(sessions)
    figure = figure_of(await get_page(client, "/gpus/h100"))
    toggle = next(m for m in figure["layout"]["updatemenus"] if m["name"] == "scale")
    assert [b["args"][0]["yaxis.type"] for b in toggle["buttons"]] == ["linear", "log"]
    assert figure["layout"]["yaxis"]["type"] == "linear" and toggle["active"] == 0

    doc = await get_page(client, "/gpus/h100?variant=h100-pcie&scale=log&days=5")
    figure = figure_of(doc)
    assert figure["layout"]["yaxis"]["type"] == "log"
    assert next(m for m in figure["layout"]["updatemenus"] if m["name"] == "scale")["active"] == 1
    assert {t["meta"]["variant"] for t in visible(figure)} == {"h100-pcie"}
    assert doc.one("select", name="variant").one("option", value="h100-pcie").get("selected") is not None
    assert doc.one("input", name="days").get("value") == "5"
    assert doc.one("input", name="scale").get("checked") is not None
    assert {row.find_all("td")[1].text for row in doc.one("table", class_="history").find("tbody").find_all("tr")} == {
        "H100 PCIe 80GB on-demand"}


async def test_bad_chart_options_come_back_on_the_same_page(client, sessions):
    await seeded_history(sessions)
    response = await client.get("/gpus/h100?variant=a100-sxm-80gb&days=400&scale=log")
    assert response.status_code == 400
    doc = parse_html(response.text)
    assert doc.one("h1").text == "NVIDIA H100"  # the GPU page, with its chart
    assert doc.find("div", id="price-history-chart") is not None
    days = doc.one("input", name="days")
    assert days.get("value") == "400" and days.get("aria-invalid") == "true"
    assert "choose a whole number of days from 1 to 30" in doc.one(id=days.get("aria-describedby")).text
    variant = doc.one("select", name="variant")
    assert variant.one("option", value="a100-sxm-80gb").get("selected") is not None
    assert "not a variant of this GPU" in doc.one(id=variant.get("aria-describedby")).text
    assert doc.one("input", name="scale").get("checked") is not None  # the valid choice is kept
    assert figure_of(doc)["layout"]["yaxis"]["type"] == "log"
    assert doc.one("div", class_="error-summary").get("role") == "alert"
