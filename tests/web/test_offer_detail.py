"""Offer detail (vCPUs, RAM, disk, GPU count and total memory filters, interconnect, spot next to
on-demand), GPU variants on the price pages, and the simulated cloud kept off them."""

from __future__ import annotations

from decimal import Decimal
from xml.etree import ElementTree

import pytest
from litestar.testing import AsyncTestClient

from app.server import create_app
from app.settings import SandboxSettings, Settings, WebSettings
from providers.base import Offer
from providers.gpus import FAMILIES
from tests.support.factories import make_offer, seed
from tests.web.conftest import BASE_URL, get_page, minutes_ago
from tests.web.html import Node


def shape(source: str, instance_type: str, gpu: str, price: str, *, count: str = "1", memory: int | None = 80,
          spot: bool = False, region: str = "us-east-1", vcpus: int | None = None, ram: int | None = None,
          disk: int | None = None) -> Offer:
    return Offer(source=source, instance_type=instance_type, gpu_raw_name=gpu, gpu_count=Decimal(count),
                 price_per_hour=Decimal(price), region=region, spot=spot, available=True, gpu_memory_gb=memory,
                 vcpus=vcpus, ram_gb=ram, disk_gb=disk, buy_url=f"https://{source}.test/{instance_type}")


OFFERS = [
    shape("runpod", "h100-1x", "H100 SXM", "2.69", vcpus=26, ram=225, disk=1000),
    shape("runpod", "h100-1x", "H100 SXM", "1.49", spot=True, vcpus=26, ram=225, disk=1000),
    shape("lambdalabs", "h100-8x", "H100 SXM", "23.92", count="8", vcpus=208, ram=1800, disk=22000),
    shape("vastai", "4090-2x", "RTX 4090", "0.70", count="2", memory=24, vcpus=32, ram=128, disk=500),
    shape("vultr", "vcg-a16-2c-16g-2vram", "NVIDIA_A16", "0.059", count="0.125", memory=16, vcpus=2, ram=16,
          disk=80),
]


def rows(doc: Node) -> dict[str, Node]:
    """Offers table rows by "instance type/market"."""
    out = {}
    for row in doc.one("table", class_="offers").find("tbody").find_all("tr", class_="offer"):
        detail = row.one("div", class_="detail").text.split(" · ")[0]
        out[f"{detail}/{'spot' if 'spot' in row.one('td', class_='market').text else 'od'}"] = row
    return out


def text(row: Node, column: str) -> str:
    return row.one("td", class_=column).text


# ---- item 2: offer detail -------------------------------------------------------------------------

async def test_offers_table_shows_vcpus_ram_disk_and_interconnect(client, sessions):
    await seed(sessions, OFFERS, at=minutes_ago(3))
    doc = await get_page(client, "/")
    head = [th for th in doc.one("table", class_="offers").find("thead").find_all("th")]
    priorities = {th.text: th.get("data-priority") for th in head}
    assert priorities["vCPUs"] == "3" and priorities["RAM"] == "3" and priorities["Disk"] == "4"
    h100 = rows(doc)["h100-1x/od"]
    assert (text(h100, "vcpus"), text(h100, "ram"), text(h100, "disk")) == ("26", "225 GB", "1000 GB")
    assert "SXM" in h100.one("td", class_="gpu-cell").text  # the form factor
    assert h100.find("span", class_="interconnect") is None  # one GPU: linked to nothing
    assert rows(doc)["h100-8x/od"].one("span", class_="interconnect").text == "NVLink"  # 8 SXM boards
    assert rows(doc)["4090-2x/od"].find("span", class_="interconnect") is None  # not stated: nothing claimed

    page = await get_page(client, "/gpus/h100-sxm")  # the GPU page's table too
    row = page.one("table", class_="provider-offers").find("tbody").find_all("tr")[0]
    assert row.one("td", class_="vcpus").text in {"26", "208"}


async def test_spot_and_on_demand_prices_of_one_shape_side_by_side(client, sessions):
    await seed(sessions, OFFERS, at=minutes_ago(3))
    doc = await get_page(client, "/")
    assert text(rows(doc)["h100-1x/od"], "other-market-cell") == "spot $1.49"
    assert text(rows(doc)["h100-1x/spot"], "other-market-cell") == "on-demand $2.69"
    assert text(rows(doc)["h100-8x/od"], "other-market-cell") == "no spot"

    items = {(i["instance_type"], i["market"]): i for i in (await client.get("/api/v1/prices")).json()["items"]}
    for market in ("on-demand", "spot"):
        item = items[("h100-1x", market)]
        assert (item["on_demand_price_per_gpu_hour"], item["spot_price_per_gpu_hour"]) == ("2.690000", "1.490000")
    assert items[("h100-8x", "on-demand")]["spot_price_per_gpu_hour"] is None


async def test_gpu_count_and_total_gpu_memory_filters(client, sessions):
    await seed(sessions, OFFERS, at=minutes_ago(3))

    async def shown(url: str) -> set[str]:
        return {key.split("/")[0] for key in rows(await get_page(client, url))}

    assert await shown("/?min_gpus=2") == {"h100-8x", "4090-2x"}
    assert await shown("/?max_gpus=1") == {"h100-1x", "vcg-a16-2c-16g-2vram"}
    assert await shown("/?min_gpus=0.1&max_gpus=0.5") == {"vcg-a16-2c-16g-2vram"}
    assert await shown("/?min_total_memory=100") == {"h100-8x"}  # 8 × 80 GB
    assert await shown("/?min_total_memory=48") == {"h100-1x", "h100-8x", "4090-2x"}  # 2 × 24 GB counts
    doc = await get_page(client, "/?min_gpus=2&min_total_memory=100")
    assert doc.one("input", name="min_gpus").get("value") == "2"
    assert doc.one("input", name="min_total_memory").get("value") == "100"
    # sort links keep the new filters
    assert "min_gpus=2" in doc.one("a", data_sort_column="price").get("href")

    api = (await client.get("/api/v1/prices", params={"min_total_memory": 640, "min_gpus": "8"})).json()
    assert [i["instance_type"] for i in api["items"]] == ["h100-8x"] and api["items"][0]["total_gpu_memory_gb"] == 640

    for url, field in (("/?min_gpus=many", "min_gpus"), ("/?max_gpus=-1", "max_gpus"),
                       ("/?min_gpus=4&max_gpus=2", "max_gpus"), ("/?min_total_memory=lots", "min_total_memory"),
                       ("/?min_total_memory=-5", "min_total_memory")):
        response = await client.get(url)
        assert response.status_code == 400 and field in response.text, url
    for params in ({"min_gpus": "65"}, {"min_total_memory": "-1"}):
        response = await client.get("/api/v1/prices", params=params)
        assert response.status_code == 400 and next(iter(params)) in response.text, params


# ---- item 4: variants on the pages --------------------------------------------------------------

UNSTATED = [
    make_offer("digitalocean", "nvidia_h100", "3.39", memory=80, instance_type="gpu-h100x1-80gb"),
    make_offer("lambdalabs", "H100 SXM", "2.99", instance_type="gpu_1x_h100_sxm5"),
    make_offer("runpod", "H100 PCIe", "2.39", instance_type="h100-pcie"),
]


async def test_an_offer_without_form_factor_is_listed_under_the_family_with_a_note(client, sessions):
    await seed(sessions, UNSTATED, at=minutes_ago(3))
    doc = await get_page(client, "/")
    do = next(r for r in doc.one("table", class_="offers").find_all("tr", class_="offer")
              if r.get("data-provider") == "digitalocean")
    assert do.one("td", class_="gpu-cell").find("a").get("href") == "/gpus/h100"  # the family page
    assert "form factor not stated by provider" in do.text

    # the GPU filter: every option value once, and each label names what it filters
    options = doc.one("select", name="gpu").find_all("option")
    values = [o.get("value") for o in options]
    assert len(values) == len(set(values))
    labels = {o.get("value"): o.text for o in options}
    assert labels["h100"] == "H100, all variants"
    assert labels["h100-80gb"] == "H100 80GB (form factor not stated by provider)"
    assert (await get_page(client, "/?gpu=h100-80gb")).one("select", name="gpu").find(
        "option", selected="").text == "H100 80GB (form factor not stated by provider)"

    # the matrix: one row per GPU slug, the unstated row after the family's variants, with the note
    matrix = doc.one("table", class_="matrix").find("tbody").find_all("tr")
    assert [r.get("data-gpu") for r in matrix] == ["h100-sxm", "h100-pcie", "h100-80gb"]
    assert "form factor not stated" in matrix[2].text and matrix[2].find("a").get("href") == "/gpus/h100"

    # /compare never shows it as a GPU of its own (its specs are unknown), not even when asked for
    compare = await get_page(client, "/compare")
    heads = [th.text for th in compare.find("table").find("thead").find_all("th")]
    assert not any(h.strip() == "H100 80GB" for h in heads)
    assert "H100 SXM 80GB" in " ".join(heads) and "H100 PCIe 80GB" in " ".join(heads)
    asked = await get_page(client, "/compare?gpu=h100-80gb")
    assert "form factor not stated" not in asked.find("table").text

    # the family page lists its offer with the note; the unstated slug is not a page of its own
    family = await get_page(client, "/gpus/h100")
    assert "digitalocean" in [r.get("data-provider") for r in family.one("table", class_="provider-offers").find_all("tr")]
    assert "form factor not stated by provider" in family.one("p", id="unstated-note").text
    assert "H100 80GB" not in family.one("table", class_="specs").text  # specs: variants only
    response = await client.get("/gpus/h100-80gb", follow_redirects=False)
    assert response.status_code == 301 and response.headers["location"] == "/gpus/h100"


async def test_a_gpu_slice_shows_its_share_of_the_card_memory(client, sessions):
    await seed(sessions, OFFERS, at=minutes_ago(3))
    doc = await get_page(client, "/?gpu=a16")
    detail = rows(doc)["vcg-a16-2c-16g-2vram/od"].one("div", class_="detail").text
    assert "2 GB: a 1/8 slice of a 16 GB card" in detail and "16 GB per GPU" not in detail
    [item] = (await client.get("/api/v1/prices", params={"gpu": "a16"})).json()["items"]
    assert item["total_gpu_memory_gb"] == 2 and item["gpu_count"] == 0.125


async def test_the_sitemap_lists_every_variant_page_once(client, sessions):
    response = await client.get("/sitemap.xml")
    locs = [loc.text for loc in ElementTree.fromstring(response.text).iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    pages = {loc.removeprefix(BASE_URL) for loc in locs}
    variants = [gpu.slug for members in FAMILIES.values() for gpu in members]
    assert len(set(variants)) == len(variants)  # each variant is a page of its own...
    several = {family for family, members in FAMILIES.items() if len(members) > 1}
    assert not set(variants) & several  # ...never its family's page ("H100 80GB" was /gpus/h100)
    assert {f"/gpus/{slug}" for slug in variants} <= pages
    assert {f"/gpus/{slug}" for slug in FAMILIES} <= pages
    assert "/gpus/h100-80gb" not in pages  # not a page: its offers are on /gpus/h100
    for slug in ("h100-sxm", "h100-pcie", "h100-nvl", "rtx-2000-ada"):
        assert (await client.get(f"/gpus/{slug}")).status_code == 200


# ---- item 15: the simulated cloud -------------------------------------------------------------------

SIMULATED = [make_offer("sandbox", "H100 SXM", "1.11", buy_url="https://sandbox.computehub.invalid/p"),
             make_offer("runpod", "H100 SXM", "2.69")]


async def test_the_simulated_cloud_is_off_the_public_price_pages(client, sessions):
    await seed(sessions, SIMULATED, at=minutes_ago(4))
    for url in ("/", "/?provider=sandbox", "/gpus", "/gpus/h100", "/gpus/h100-sxm", "/compare", "/api/v1/prices",
                "/api/v1/gpus", "/api/v1/gpus/h100-sxm"):
        response = await client.get(url)
        assert response.status_code == 200, url
        body = response.text
        assert "Sandbox" not in body and "sandbox.computehub" not in body and "1.11" not in body, url
    api = (await client.get("/api/v1/prices")).json()
    assert {i["provider"]["name"] for i in api["items"]} == {"runpod"}
    assert api["best_price_per_gpu_hour"] == "2.690000"


@pytest.fixture
async def sandbox_client(engine, sessions):
    settings = Settings(web=WebSettings(base_url=BASE_URL, debug=True), sandbox=SandboxSettings(price_pages=True))
    app = create_app(settings, engine=engine, run_worker=False)
    async with AsyncTestClient(app=app) as client:
        yield client


async def test_in_sandbox_mode_it_is_listed_as_simulated_without_buy_links(sandbox_client, sessions):
    await seed(sessions, SIMULATED, at=minutes_ago(4))
    for url in ("/", "/gpus/h100-sxm"):
        body = (await sandbox_client.get(url)).text
        assert "Sandbox (simulated)" in body and ".invalid" not in body, url
    api = await sandbox_client.get("/api/v1/prices", params={"gpu": "h100-sxm"})
    assert api.status_code == 200 and "sandbox" in api.text and ".invalid" not in api.text
    assert "example-provider.test" in api.text  # a real provider keeps its link
