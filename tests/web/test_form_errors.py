"""Bad input on a page with a form: the SAME page again, status 400, every input kept as typed and
the message next to the offending field (issue 11 item 5). The console and costs cases are in
tests/console/test_batch_errors.py and tests/costs/test_cost_form_errors.py."""

from __future__ import annotations

from providers.gpus import FAMILIES, GPUS
from tests.support.factories import make_offer, seed
from tests.web.conftest import minutes_ago
from tests.web.html import Node, parse_html

MARKET = [
    make_offer("lambdalabs", "H100 SXM", "2.99", region="us-east-1"),
    make_offer("runpod", "H100 SXM", "2.69", region="eu-central-1"),
    make_offer("runpod", "RTX 4090", "0.34", region="eu-west-1", memory=24),
]


def described_error(doc: Node, control: Node, name: str | None = None) -> str:
    """The message the control (or its fieldset, given the field ``name``) points at with
    aria-describedby: what a screen reader reads with it."""
    if name is None:
        assert control.get("aria-invalid") == "true"
    message = doc.one(id=control.get("aria-describedby"))
    assert message.get("data-field-error") == (name or control.get("name"))
    return message.text


def summary(doc: Node) -> Node:
    box = doc.one("div", class_="error-summary")
    assert box.get("role") == "alert"
    return box


def field_error_next_to(control: Node) -> str:
    """The message is inside the control's own label/fieldset, right after it."""
    holder = control.parent
    return " ".join(n.text for n in holder.find_all(class_="field-error"))


async def test_bad_number_on_the_dashboard_keeps_every_input(client, sessions):
    await seed(sessions, MARKET, at=minutes_ago(3))
    url = "/?gpu=h100-sxm&max_price=cheap&min_memory=40&region=eu&sort=-price&provider=runpod&market=on-demand&available=1"
    response = await client.get(url)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    doc = parse_html(response.text)
    # the dashboard itself, not an error page
    assert doc.one("h1").text == "GPU cloud prices" and doc.find("section", class_="error-page") is None
    price = doc.one("input", name="max_price")
    assert price.get("value") == "cheap"  # as typed, so it can be corrected
    assert "max_price must be a number, got 'cheap'" in described_error(doc, price)
    assert "max_price must be a number" in field_error_next_to(price)
    assert "max_price must be a number" in summary(doc).text
    # the other inputs are kept and still applied
    assert doc.one("input", name="min_memory").get("value") == "40"
    assert doc.one("input", name="region").get("value") == "eu"
    assert doc.one("select", name="gpu").find("option", value="h100-sxm").get("selected") is not None
    assert doc.one("select", name="sort").find("option", value="-price").get("selected") is not None
    assert [b.get("value") for b in doc.find_all("input", name="provider") if "checked" in b.attrs] == ["runpod"]
    assert doc.one("input", name="market", value="on-demand").get("checked") is not None
    assert doc.one("input", name="available").get("checked") is not None
    assert {r.get("data-provider") for r in doc.find_all("tr", class_="offer")} == {"runpod"}
    # only the bad field is marked
    assert doc.one("input", name="min_memory").get("aria-invalid") is None


async def test_unknown_choices_stay_selected_with_their_message(client, sessions):
    await seed(sessions, MARKET, at=minutes_ago(3))
    doc = parse_html((await client.get("/?gpu=nosuchgpu&provider=nosuchcloud&provider=runpod&max_price=-1")).text)
    gpu = doc.one("select", name="gpu")
    assert gpu.one("option", value="nosuchgpu").get("selected") is not None
    assert "unknown GPU 'nosuchgpu'" in described_error(doc, gpu)
    boxes = {b.get("value"): "checked" in b.attrs for b in doc.find_all("input", name="provider")}
    assert boxes["nosuchcloud"] and boxes["runpod"]
    assert "unknown provider 'nosuchcloud'" in described_error(doc, doc.one("fieldset", class_="providers"), "provider")
    price = doc.one("input", name="max_price")
    assert price.get("value") == "-1" and "between 0 and 10000" in described_error(doc, price)
    assert len(summary(doc).find_all("li")) == 3


async def test_a_field_without_an_input_is_named_in_the_summary(client, sessions):
    await seed(sessions, MARKET, at=minutes_ago(3))
    response = await client.get("/?page=0&region=eu")
    assert response.status_code == 400
    doc = parse_html(response.text)
    assert "page must be between 1 and 100000" in summary(doc).text
    assert doc.one("input", name="region").get("value") == "eu"


async def test_compare_with_an_unknown_gpu_keeps_the_choices(client, sessions):
    await seed(sessions, MARKET, at=minutes_ago(3))
    response = await client.get("/compare?gpu=rtx-4090&gpu=nosuchgpu")
    assert response.status_code == 400
    doc = parse_html(response.text)
    assert doc.one("h1").text == "Compare GPUs"
    checked = [b.get("value") for b in doc.find_all("input", name="gpu") if "checked" in b.attrs]
    assert set(checked) == {"rtx-4090", "nosuchgpu"}
    fieldset = doc.one("fieldset", class_="compare-choices")
    assert "unknown GPU 'nosuchgpu'" in described_error(doc, fieldset, "gpu")
    assert "unknown GPU 'nosuchgpu'" in summary(doc).text


async def test_compare_too_many_keeps_the_ticks(client, sessions):
    await seed(sessions, MARKET, at=minutes_ago(3))
    # variants only: a family (or an entry whose form factor is not stated) stands for several
    slugs = [slug for slug, gpu in GPUS.items() if slug not in FAMILIES and gpu.form_factor_stated][:13]
    response = await client.get("/compare?" + "&".join(f"gpu={s}" for s in slugs))
    assert response.status_code == 400
    doc = parse_html(response.text)
    checked = {b.get("value") for b in doc.find_all("input", name="gpu") if "checked" in b.attrs}
    assert checked == set(slugs)
    assert "compare at most 12 GPUs" in described_error(doc, doc.one("fieldset", class_="compare-choices"), "gpu")


async def test_the_gpu_count_and_total_memory_filters_are_kept_and_marked(client, sessions):
    await seed(sessions, MARKET, at=minutes_ago(3))
    for url, field, kept in (("/?min_gpus=lots&min_total_memory=80", "min_gpus", {"min_total_memory": "80"}),
                             ("/?min_gpus=4&max_gpus=2", "max_gpus", {"min_gpus": "4"}),
                             ("/?min_total_memory=much&max_gpus=8", "min_total_memory", {"max_gpus": "8"})):
        response = await client.get(url)
        assert response.status_code == 400, url
        doc = parse_html(response.text)
        control = doc.one("input", name=field)
        assert control.get("aria-invalid") == "true", url
        assert field in described_error(doc, control), url
        for name, value in kept.items():
            assert doc.one("input", name=name).get("value") == value, url
