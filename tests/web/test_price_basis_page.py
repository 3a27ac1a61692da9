"""The offers tables say what each price pays for (label, with its meaning), rank each kind on its
own, filter on it, and show a CPU architecture or boot time only where the source publishes one."""

from __future__ import annotations

from decimal import Decimal

from providers.base import CpuArch, Offer
from tests.support.factories import make_offer, seed
from tests.web.conftest import get_page, minutes_ago
from tests.web.html import Node

MARKET = [
    make_offer("runpod", "H100 SXM", "1.99", instance_type="rate"),
    make_offer("cudo", "H100 SXM", "2.45", instance_type="vm"),
    make_offer("lambdalabs", "H100 SXM", "2.99", instance_type="instance"),
]


def offer_rows(doc: Node) -> dict[str, Node]:
    rows = doc.one("table", class_="offers").find("tbody").find_all("tr", class_="offer")
    return {row.one("td", class_="gpu-cell").one("div").text.split(" · ")[0]: row for row in rows}


async def test_each_offer_says_what_its_price_pays_for(client, sessions):
    await seed(sessions, MARKET, at=minutes_ago(3))
    doc = await get_page(client, "/")
    rows = offer_rows(doc)
    chips = {itype: row.one("span", class_="chip-basis") for itype, row in rows.items()}
    assert {itype: chip.get("data-price-basis") for itype, chip in chips.items()} == {
        "rate": "gpu_only", "vm": "smallest_vm", "instance": "instance"}
    assert chips["vm"].text == "Smallest VM price"
    # The explanation: on the label itself, and in the legend it points to.
    assert "cheapest VM" in chips["vm"].get("title") and "100 GB boot disk" in chips["vm"].get("title")
    legend = doc.one("p", id="price-basis-meaning").text
    assert "GPU only" in legend and "Smallest VM" in legend and "Instance" in legend
    assert chips["vm"].get("aria-describedby") == "price-basis-meaning"
    # Like with like: the GPU rate does not take the badge from the whole machines.
    assert {itype for itype, row in rows.items() if "best" in row.classes} == {"rate", "vm", "instance"}
    lead = doc.one("p", class_="lead").text
    assert "$1.99 per GPU-hour (GPU only)" in lead and "$2.45 per GPU-hour (Smallest VM)" in lead


async def test_the_price_basis_filter_keeps_one_kind(client, sessions):
    await seed(sessions, MARKET, at=minutes_ago(3))
    doc = await get_page(client, "/?price_basis=instance&price_basis=smallest_vm")
    assert set(offer_rows(doc)) == {"vm", "instance"}
    box = doc.one("input", name="price_basis", value="smallest_vm")
    assert box.get("checked") is not None
    # Sort links keep the filter.
    assert "price_basis=instance&price_basis=smallest_vm" in doc.one("a", data_sort_column="price").get("href")
    # The matrix compares the kept providers only.
    header = doc.one("table", class_="matrix").find("thead").text
    assert "RunPod" not in header

    doc = await get_page(client, "/?price_basis=whole", status=400)
    assert "price_basis" in doc.text


async def test_cpu_architecture_and_boot_time_only_where_published(client, sessions):
    await seed(sessions, [
        Offer(source="aws", instance_type="g5g.xlarge", gpu_raw_name="T4G", gpu_count=Decimal(1),
              price_per_hour=Decimal("0.42"), region="us-east-1", gpu_memory_gb=16, cpu_arch=CpuArch.ARM64),
        Offer(source="shadeform", instance_type="massedcompute/gpu_1x_a6000", gpu_raw_name="A6000",
              gpu_count=Decimal(1), price_per_hour=Decimal("0.62"), region="us-central-1", gpu_memory_gb=48,
              boot_seconds_min=180, boot_seconds_max=300),
        make_offer("lambdalabs", "H100 SXM", "2.99", instance_type="instance"),
    ], at=minutes_ago(3))
    rows = offer_rows(await get_page(client, "/"))
    assert rows["g5g.xlarge"].one("span", class_="cpu-arch").text == "arm64"
    assert rows["massedcompute/gpu_1x_a6000"].one("span", class_="boot-time").text == "boots in 3–5 min"
    assert not rows["instance"].find("span", class_="cpu-arch") and not rows["instance"].find("span", class_="boot-time")


async def test_the_gpu_page_says_what_its_from_price_pays_for(client, sessions):
    await seed(sessions, MARKET, at=minutes_ago(3))
    doc = await get_page(client, "/gpus/h100")
    lead = doc.one("p", class_="lead").text
    assert "On-demand from $1.99 per GPU-hour (GPU only; Smallest VM from $2.45; Instance from $2.99)" in lead
    rows = doc.one("table", class_="provider-offers").find("tbody").find_all("tr")
    assert {r.get("data-provider"): r.one("td", class_="basis").text for r in rows} == {
        "runpod": "GPU only price", "cudo": "Smallest VM price", "lambdalabs": "Instance price"}


async def test_the_gpu_index_and_compare_name_the_basis_of_each_from_price(client, sessions):
    """The lowest figure per market comes with its basis; a cheaper offer of another basis takes it over."""
    await seed(sessions, [*MARKET, make_offer("vastai", "H100 SXM", "1.50", spot=True, instance_type="spot"),
                          make_offer("lambdalabs", "A100 SXM4", "1.29", memory=80, instance_type="a100")],
               at=minutes_ago(3))
    index = await get_page(client, "/gpus")
    h100 = index.one("tr", data_family="h100")
    on_demand, spot = h100.find_all("td", class_="num")[:2]
    assert on_demand.text == "$1.99 GPU only" and on_demand.one("span", class_="basis-note").get(
        "data-price-basis") == "gpu_only"
    assert "no machine shape is stated" in on_demand.one("span", class_="basis-note").get("title")
    assert spot.text.startswith("$1.50 ") and spot.one("span", class_="basis-note").get("data-price-basis")
    a100 = index.one("tr", data_family="a100").find_all("td", class_="num")[:2]
    assert [cell.text for cell in a100] == ["$1.29 Instance", "–"]

    compare = await get_page(client, "/compare?gpu=h100-sxm&gpu=a100-sxm-80gb")
    rows = {row.one("th").text: [cell.text for cell in row.find_all("td")] for row in compare.find("tbody").find_all("tr")}
    on_demand = next(cells for label, cells in rows.items() if label.startswith("On-demand from"))
    assert on_demand == ["$1.99 GPU only", "$1.29 Instance (best)"], rows
    assert next(cells for label, cells in rows.items() if label.startswith("Memory type")) == ["HBM3", "HBM2e"]
