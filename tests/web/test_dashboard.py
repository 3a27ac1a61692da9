"""The price dashboard: filters, the provider matrix, the offers table and its honesty labels."""

from __future__ import annotations

from decimal import Decimal

from app.db.models import OFFER_ORIGIN_SNAPSHOT
from app.web.source_info import source_info
from tests.support.factories import make_offer, seed
from tests.web.conftest import get_page, mark_failed, minutes_ago
from tests.web.html import Node


def name(source: str) -> str:
    return source_info(source).display_name


def offer_rows(doc: Node) -> list[Node]:
    return doc.one("table", class_="offers").find("tbody").find_all("tr", class_="offer")


def cell(row: Node, column: str) -> str:
    """The text of one column of an offers row (cells carry their column as a class)."""
    return row.one("td", class_=column).text


def shown_prices(doc: Node) -> list[Decimal]:
    return [Decimal(row.get("data-price")) for row in offer_rows(doc)]


def matrix_columns(doc: Node) -> list[str]:
    header = doc.one("table", class_="matrix").find("thead")
    return [th.text for th in header.find_all("th")[1:] if "spot-col" not in th.classes]


MARKET = [
    make_offer("lambdalabs", "H100 SXM", "2.99", region="us-east-1", buy_url="https://lambda.test/h100"),
    make_offer("lambdalabs", "A100 SXM", "1.29", region="us-west-1", memory=80),
    make_offer("runpod", "H100 SXM", "2.69", region="eu-central-1", buy_url="https://runpod.test/h100"),
    make_offer("runpod", "H100 SXM", "1.49", region="eu-central-1", spot=True, available=False),
    make_offer("runpod", "RTX 4090", "0.34", region="eu-west-1", memory=24),
]


async def test_filters_narrow_the_offers(client, sessions):
    await seed(sessions, MARKET, at=minutes_ago(3))

    doc = await get_page(client, "/")
    assert len(offer_rows(doc)) == 5

    doc = await get_page(client, "/?gpu=h100")
    assert {row.get("data-gpu") for row in offer_rows(doc)} == {"h100-sxm"}
    assert len(offer_rows(doc)) == 3

    doc = await get_page(client, "/?gpu=h100-sxm&market=on-demand")
    assert shown_prices(doc) == [Decimal("2.69"), Decimal("2.99")]

    doc = await get_page(client, "/?market=spot")
    assert [cell(r, "market") for r in offer_rows(doc)] == ["spot sold out"]

    doc = await get_page(client, "/?provider=lambdalabs")
    assert {row.get("data-provider") for row in offer_rows(doc)} == {"lambdalabs"}

    doc = await get_page(client, "/?provider=lambdalabs&provider=runpod&max_price=1.50")
    assert shown_prices(doc) == [Decimal("0.34"), Decimal("1.29"), Decimal("1.49")]

    doc = await get_page(client, "/?min_memory=40&region=EU-")
    assert {(r.get("data-gpu"), cell(r, "region")) for r in offer_rows(doc)} == {("h100-sxm", "eu-central-1")}

    doc = await get_page(client, "/?available=1&gpu=h100")
    assert len(offer_rows(doc)) == 2  # the sold-out spot offer is gone

    # Empty fields of a submitted GET form mean "no filter".
    doc = await get_page(client, "/?gpu=&min_memory=&max_price=&region=&market=any&sort=price")
    assert len(offer_rows(doc)) == 5


async def test_form_shows_the_data_and_the_current_filters(client, sessions):
    await seed(sessions, MARKET, at=minutes_ago(3))
    doc = await get_page(client, "/?gpu=h100-sxm&provider=runpod&market=spot&available=1")
    form = doc.one("form", class_="filters")
    gpu_select = form.one("select", name="gpu")
    values = [o.get("value") for o in gpu_select.find_all("option")]
    # Families with more than one catalog variant get an "all variants" choice; only GPUs on offer are listed.
    assert values == ["", "a100", "a100-sxm-80gb", "h100", "h100-sxm", "rtx-4090"]
    assert gpu_select.one("option", selected="").get("value") == "h100-sxm"
    boxes = form.find_all("input", name="provider")
    assert [(b.get("value"), "checked" in b.attrs) for b in boxes] == [
        (src, src == "runpod") for src in sorted(["lambdalabs", "runpod"], key=lambda s: name(s).lower())
    ]
    assert form.one("input", name="market", value="spot").get("checked") == ""
    assert "checked" in form.one("input", name="available").attrs


async def test_matrix_columns_come_from_the_data(client, sessions):
    await seed(sessions, MARKET, at=minutes_ago(3))
    doc = await get_page(client, "/")
    assert matrix_columns(doc) == sorted([name("lambdalabs"), name("runpod")])
    assert name("hyperstack") not in matrix_columns(doc)  # registered, but has no offers

    await seed(sessions, [make_offer("hyperstack", "H100 SXM", "15.20", count=8)], at=minutes_ago(2))
    doc = await get_page(client, "/")
    assert name("hyperstack") in matrix_columns(doc)

    # A provider filter keeps only the chosen columns.
    doc = await get_page(client, "/?provider=runpod")
    assert matrix_columns(doc) == [name("runpod")]


async def test_matrix_cells_hold_the_cheapest_price_and_link_to_those_offers(client, sessions):
    await seed(sessions, MARKET + [make_offer("lambdalabs", "H100 SXM", "2.79", region="us-south-1")],
               at=minutes_ago(3))
    doc = await get_page(client, "/")
    h100 = doc.one("table", class_="matrix").one("tr", data_gpu="h100-sxm")
    cells = {td.get("data-provider"): td for td in h100.find_all("td") if td.get("data-provider")}
    assert cells["lambdalabs"].text.startswith("$2.79")
    assert cells["runpod"].text.startswith("$2.69")  # on-demand matrix: the $1.49 spot offer is not here
    # Like with like: RunPod's GPU rate and Lambda's whole instance are each the best of their kind.
    assert "best" in cells["runpod"].classes and "best" in cells["lambdalabs"].classes
    assert h100.find("td", class_="spot-col").text == "$1.49"

    link = cells["lambdalabs"].find("a").get("href")
    assert link == "/?gpu=h100-sxm&provider=lambdalabs&market=on-demand#offers"
    linked = await get_page(client, link.split("#")[0])
    assert [(r.get("data-provider"), r.get("data-gpu")) for r in offer_rows(linked)] == [("lambdalabs", "h100-sxm")] * 2


async def test_best_value_rows_are_highlighted(client, sessions):
    await seed(sessions, MARKET + [make_offer("lambdalabs", "RTX 4090", "0.34", region="us-east-3", memory=24)],
               at=minutes_ago(3))
    doc = await get_page(client, "/?sort=-price")
    rows = offer_rows(doc)
    best = [r for r in rows if "best" in r.classes]
    assert [Decimal(r.get("data-price")) for r in best] == [Decimal("0.34"), Decimal("0.34")]
    assert all("Best value" in r.text for r in best)
    assert not any("Best value" in r.text for r in rows if r not in best)

    # Best value is over every matching offer, not just this page: page 1 of the descending sort has none.
    doc = await get_page(client, "/?sort=-price&per_page=2")
    assert not [r for r in offer_rows(doc) if "best" in r.classes]


async def test_sort_headers_keep_the_filters_and_reverse(client, sessions):
    await seed(sessions, MARKET, at=minutes_ago(3))
    doc = await get_page(client, "/?gpu=h100&provider=runpod&provider=lambdalabs")
    header = doc.one("a", data_sort_column="price")
    assert header.get("href") == "/?gpu=h100&provider=runpod&provider=lambdalabs&sort=-price#offers"
    assert header.parent.get("aria-sort") == "ascending"

    doc = await get_page(client, header.get("href").split("#")[0])
    assert shown_prices(doc) == [Decimal("2.99"), Decimal("2.69"), Decimal("1.49")]
    assert doc.one("a", data_sort_column="price").get("href").endswith("gpu=h100&provider=runpod&provider=lambdalabs#offers")

    doc = await get_page(client, doc.one("a", data_sort_column="provider").get("href").split("#")[0])
    assert [r.get("data-provider") for r in offer_rows(doc)] == ["lambdalabs", "runpod", "runpod"]


async def test_pagination_links_keep_filters(client, sessions):
    offers = [make_offer("runpod", "RTX 4090", f"0.{30 + i}", region=f"eu-{i}", memory=24) for i in range(5)]
    await seed(sessions, offers, at=minutes_ago(3))
    doc = await get_page(client, "/?gpu=rtx-4090&per_page=2")
    assert shown_prices(doc) == [Decimal("0.30"), Decimal("0.31")]
    nav = doc.one("nav", class_="pagination")
    assert nav.one("span", class_="current").text == "1"
    next_link = [a for a in nav.find_all("a") if "Next" in a.text][0].get("href")
    assert next_link == "/?gpu=rtx-4090&per_page=2&page=2#offers"
    doc = await get_page(client, next_link.split("#")[0])
    assert shown_prices(doc) == [Decimal("0.32"), Decimal("0.33")]

    doc = await get_page(client, "/?gpu=rtx-4090&per_page=2&page=9")
    assert "There is no page 9" in doc.one("section", id="offers").text


async def test_offers_show_provider_age_and_a_buy_link(client, sessions):
    await seed(sessions, MARKET[:1], at=minutes_ago(3))
    doc = await get_page(client, "/")
    row = offer_rows(doc)[0]
    assert cell(row, "gpu-cell").startswith("H100 SXM 80GB")
    assert row.find("a").get("href") == "/gpus/h100-sxm"
    assert [cell(row, c) for c in ("price", "instance", "provider", "region", "market", "updated")] == [
        "$2.99 Best value", "1× GPU · $2.99/h", name("lambdalabs"), "us-east-1", "on-demand available",
        "live: 3 min ago"]
    buy = row.one("a", class_="btn")
    assert buy.get("href") == "https://lambda.test/h100"
    assert buy.get("rel") == "nofollow noopener"
    assert not doc.find("p", class_="notice")


async def test_snapshot_prices_are_labelled_as_snapshot(client, sessions):
    taken = minutes_ago(3 * 24 * 60)
    await seed(sessions, MARKET[:2], at=taken, origin=OFFER_ORIGIN_SNAPSHOT)
    await seed(sessions, MARKET[2:3], at=minutes_ago(3))
    doc = await get_page(client, "/")
    labels = {r.get("data-provider"): cell(r, "updated") for r in offer_rows(doc)}
    assert labels == {"lambdalabs": f"snapshot of {taken:%Y-%m-%d}", "runpod": "live: 3 min ago"}
    banner = doc.one("p", class_="notice-snapshot").text
    assert f"Prices from the bundled snapshot of {taken:%Y-%m-%d}, not live" in banner


async def test_a_failing_source_shows_stale_prices_with_their_age(client, sessions):
    await seed(sessions, MARKET[:2], at=minutes_ago(10))
    await seed(sessions, MARKET[2:3], at=minutes_ago(3))
    doc = await get_page(client, "/")
    assert {cell(r, "updated") for r in offer_rows(doc) if r.get("data-provider") == "lambdalabs"} == {"live: 10 min ago"}
    assert doc.find("p", class_="notice-stale") is None

    await mark_failed(sessions, "lambdalabs", minutes_ago(1), "HTTP 503 from the provider")
    doc = await get_page(client, "/")
    labels = {r.get("data-provider"): cell(r, "updated") for r in offer_rows(doc)}
    assert labels == {"lambdalabs": "stale: updated 10 min ago", "runpod": "live: 3 min ago"}
    banner = doc.one("p", class_="notice-stale").text
    assert name("lambdalabs") in banner and "10 min ago" in banner and name("runpod") not in banner


async def test_bad_filters_get_a_400_page_with_the_message(client, sessions):
    await seed(sessions, MARKET, at=minutes_ago(3))
    cases = {
        "/?max_price=-1": "max_price must be between 0 and 10000",
        "/?max_price=cheap": "max_price must be a number",
        "/?page=0": "page must be between 1 and 100000",
        "/?gpu=unknown-gpu": "unknown GPU 'unknown-gpu'",
        "/?provider=nosuchcloud": "unknown provider 'nosuchcloud'",
        "/?market=reserved": "market must be one of: any, on-demand, spot",
        "/?min_memory=lots": "min_memory must be a whole number",
        "/?sort=random": "sort must be one of",
    }
    for url, message in cases.items():
        doc = await get_page(client, url, status=400)
        # the same page again (tests/web/test_form_errors.py checks the kept inputs), the message on top
        assert message in doc.one("div", class_="error-summary").text, url
        assert doc.find("form", class_="filters") is not None, url
        assert doc.find("nav", **{"aria-label": "Main"}) is not None  # still the site layout, a way back


async def test_page_metadata_for_search_engines(client, sessions):
    await seed(sessions, MARKET, at=minutes_ago(3))
    doc = await get_page(client, "/")
    assert doc.one("title").text.startswith("GPU cloud prices from $0.34 per GPU-hour")
    assert "GPU cloud providers" in doc.one("meta", name="description").get("content")
    assert doc.one("link", rel="canonical").get("href") == "https://computehub.test/"
    assert doc.find("meta", name="robots") is None
    filtered = await get_page(client, "/?gpu=h100&market=on-demand")
    assert filtered.one("title").text.startswith("H100 prices from $2.69 per GPU-hour")
    sold_out = await get_page(client, "/?gpu=h100&market=spot")  # the only spot H100 is sold out: no "from" price
    assert sold_out.one("title").text.startswith("H100 prices: compare")
    assert filtered.one("meta", name="robots").get("content") == "noindex, follow"
