"""GPU index, GPU family/variant pages (offers per provider, history chart) and the compare table."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from app.db.types import utcnow
from app.services.history import refresh_daily_stats
from app.web.assets import static_url
from app.web.source_info import source_info
from tests.support.factories import make_offer, seed
from tests.web.conftest import get_page, minutes_ago
from tests.web.html import Node


def name(source: str) -> str:
    return source_info(source).display_name


OFFERS = [
    make_offer("lambdalabs", "H100 SXM", "2.99", buy_url="https://lambda.test/h100"),
    make_offer("lambdalabs", "H100 SXM", "3.29", region="us-west-2", buy_url="https://lambda.test/h100-west"),
    make_offer("runpod", "H100 PCIe", "2.39", buy_url="https://runpod.test/h100-pcie"),
    make_offer("runpod", "H100 SXM", "1.75", spot=True, buy_url="https://runpod.test/h100-spot"),
    make_offer("hyperstack", "A100 SXM", "1.35", memory=80, buy_url="https://hyperstack.test/a100"),
]


def provider_rows(doc: Node) -> list[Node]:
    return doc.one("table", class_="provider-offers").find("tbody").find_all("tr")


async def test_family_page_lists_the_cheapest_offer_per_provider_with_buy_links(client, sessions):
    await seed(sessions, OFFERS, at=minutes_ago(3))
    doc = await get_page(client, "/gpus/h100")
    assert doc.one("h1").text == "NVIDIA H100"
    rows = [(r.get("data-provider"), r.find("td", class_="price").text) for r in provider_rows(doc)]
    # one row per provider and market, cheapest first; SXM and PCIe both belong to the family
    # Best value per price basis: RunPod's GPU rate and Lambda's whole instance are not ranked together.
    assert rows == [("runpod", "$1.75 Best value"), ("runpod", "$2.39"), ("lambdalabs", "$2.99 Best value")]
    assert [r.find("td", class_="basis").text for r in provider_rows(doc)] == [
        "GPU only price", "GPU only price", "Instance price"]
    buy = {a.text: a.get("href") for a in doc.find_all("a", class_="btn-small")}
    assert buy[f"Buy at {name('lambdalabs')} (opens {name('lambdalabs')})"] == "https://lambda.test/h100"
    assert buy[f"Buy at {name('runpod')} (opens {name('runpod')})"] == "https://runpod.test/h100-pcie"
    assert all(a.get("rel") == "nofollow noopener" for a in doc.find_all("a", class_="btn-small"))
    assert "A100" not in doc.one("table", class_="provider-offers").text
    assert "spot" in provider_rows(doc)[0].text and "live: 3 min ago" in provider_rows(doc)[0].text
    lead = doc.one("p", class_="lead").text
    assert "On-demand from $2.39" in lead and "spot from $1.75" in lead and "4 offers at 2 providers" in lead
    assert doc.one("title").text.startswith("NVIDIA H100 cloud prices from $1.75/GPU-hour at 2 providers")
    assert doc.one("link", rel="canonical").get("href") == "https://computehub.test/gpus/h100"


async def test_variant_page_covers_only_that_variant(client, sessions):
    await seed(sessions, OFFERS, at=minutes_ago(3))
    doc = await get_page(client, "/gpus/h100-sxm")
    assert doc.one("h1").text == "NVIDIA H100 SXM 80GB"
    assert [r.get("data-provider") for r in provider_rows(doc)] == ["runpod", "lambdalabs"]
    assert "PCIe" not in doc.one("table", class_="provider-offers").text
    crumbs = doc.one("nav", class_="breadcrumbs")
    assert [a.get("href") for a in crumbs.find_all("a")] == ["/gpus", "/gpus/h100"]


async def test_unknown_gpu_is_a_404_page(client, sessions):
    doc = await get_page(client, "/gpus/unknown-gpu", status=404)
    assert "Unknown GPU 'unknown-gpu'" in doc.one("p", class_="error-message").text
    assert doc.one("meta", name="robots").get("content") == "noindex, follow"


async def test_gpu_page_without_offers_still_renders_specs(client, sessions):
    doc = await get_page(client, "/gpus/mi300x")
    assert "No provider lists this GPU right now" in doc.one("p", class_="lead").text
    assert "192 GB" in doc.one("table", class_="specs").text


async def test_history_chart_and_table_show_daily_min_median_max(client, sessions):
    now = utcnow()
    days = [now - timedelta(days=n) for n in (3, 2, 1)]
    prices = [("3.10", "2.70", "2.50"), ("2.90", "2.60", "2.40"), ("2.80", "2.40", "2.20")]
    for at, (lambda_price, runpod_price, hyper_price) in zip(days, prices):
        await seed(sessions, [
            make_offer("lambdalabs", "H100 SXM", lambda_price),
            make_offer("runpod", "H100 SXM", runpod_price),
            make_offer("hyperstack", "H100 SXM", hyper_price),
        ], at=at)
        async with sessions() as session, session.begin():
            await refresh_daily_stats(session, at.date())

    doc = await get_page(client, "/gpus/h100")
    chart = doc.one("div", id="price-history-chart")
    figure = json.loads(chart.get("data-plotly-figure"))
    traces = {trace["name"]: trace for trace in figure["data"]}
    median = traces["H100 SXM 80GB on-demand median"]
    assert median["x"] == [f"{d:%Y-%m-%d}" for d in days]
    # A day counts every price active during it: the new prices and those carried over from the day before.
    assert median["y"] == [2.7, 2.65, 2.5]
    assert [row[0] for row in median["customdata"]] == [3.1, 3.1, 2.9]  # the highest, in the hover
    assert traces["H100 SXM 80GB on-demand lowest"]["y"] == [2.5, 2.4, 2.2]
    assert f'src="{static_url("vendor/plotly.min.js")}"' in (await client.get("/gpus/h100")).text

    # The same numbers without JavaScript: newest day first.
    table = doc.one("table", class_="history").find("tbody").find_all("tr")
    assert [[td.text for td in row.find_all("td")] for row in table] == [
        [f"{days[2]:%Y-%m-%d}", "H100 SXM 80GB on-demand", "$2.20", "$2.50", "$2.90", "6"],
        [f"{days[1]:%Y-%m-%d}", "H100 SXM 80GB on-demand", "$2.40", "$2.65", "$3.10", "6"],
        [f"{days[0]:%Y-%m-%d}", "H100 SXM 80GB on-demand", "$2.50", "$2.70", "$3.10", "3"],
    ]


async def test_gpu_page_without_history_says_so_and_loads_no_chart_library(client, sessions):
    await seed(sessions, OFFERS, at=minutes_ago(3))
    response = await client.get("/gpus/a100")
    assert "No price history yet" in response.text
    assert "plotly.min.js" not in response.text


async def test_gpu_index_lists_families_with_offers_first(client, sessions):
    await seed(sessions, OFFERS, at=minutes_ago(3))
    doc = await get_page(client, "/gpus")
    rows = doc.one("table", class_="gpu-index").find("tbody").find_all("tr")
    listed = [(r.get("data-family"), [td.text for td in r.find_all("td")][1:]) for r in rows]
    # each "from" price names its basis (these sources quote GPU rates; the A100's is an instance)
    assert listed == [("h100", ["$2.39 GPU only", "$1.75 GPU only", "4", "2"]),
                      ("a100", ["$1.35 Instance", "–", "1", "1"])]
    others = [a.get("href") for a in doc.one("ul", class_="pill-list").find_all("a")]
    assert "/gpus/mi300x" in others and "/gpus/h100" not in others


async def test_compare_defaults_to_gpus_on_offer_and_highlights_best_values(client, sessions):
    await seed(sessions, OFFERS, at=minutes_ago(3))
    doc = await get_page(client, "/compare")
    table = doc.one("table", class_="compare")
    heads = [a.get("href") for a in table.find("thead").find_all("a")]
    assert heads == ["/gpus/h100-sxm", "/gpus/h100-pcie", "/gpus/a100-sxm-80gb"]  # by FP16 TFLOPS
    rows = {r.find("th").children[0].strip():  # the label, without the hint under it
            [(td.text.replace(" (best)", ""), "best" in td.classes) for td in r.find_all("td")]
            for r in table.find("tbody").find_all("tr")}
    assert rows["On-demand from"] == [("$2.99 Instance", False), ("$2.39 GPU only", False), ("$1.35 Instance", True)]
    assert rows["Spot from"] == [("$1.75 GPU only", False), ("–", False), ("–", False)]  # nothing to beat
    assert rows["FP16 tensor TFLOPS"] == [("989", True), ("756", False), ("312", False)]
    assert rows["Memory"] == [("80 GB", False)] * 3  # a tie is not a winner
    per_tflop = [Decimal(text.split()[0].lstrip("$")) for text, _ in rows["$ per TFLOP-hour"]]
    assert [text.split(" ", 1)[1] for text, _ in rows["$ per TFLOP-hour"]] == ["Instance", "GPU only", "Instance"]
    assert per_tflop == [Decimal("0.0030"), Decimal("0.0032"), Decimal("0.0043")]
    assert [best for _, best in rows["$ per TFLOP-hour"]] == [True, False, False]


async def test_compare_takes_chosen_gpus_and_rejects_unknown_ones(client, sessions):
    await seed(sessions, OFFERS, at=minutes_ago(3))
    doc = await get_page(client, "/compare?gpu=a100-sxm-80gb&gpu=mi300x")
    heads = [a.text for a in doc.one("table", class_="compare").find("thead").find_all("a")]
    assert heads == ["A100 SXM 80GB", "MI300X 192GB"]
    checked = [box.get("value") for box in doc.find_all("input", name="gpu") if "checked" in box.attrs]
    assert checked == ["a100-sxm-80gb"]  # MI300X has no offers, so it is not in the picker
    # a family stands for its variants on offer
    doc = await get_page(client, "/compare?gpu=h100")
    assert [a.text for a in doc.one("table", class_="compare").find("thead").find_all("a")] == ["H100 SXM 80GB", "H100 PCIe 80GB"]
    doc = await get_page(client, "/compare?gpu=nosuchgpu", status=400)
    assert "unknown GPU 'nosuchgpu'" in doc.one("div", class_="error-summary").text
