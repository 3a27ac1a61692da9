"""/api/v1/prices says what each price pays for, filters on it, and never ranks a GPU-only rate
against whole-VM prices: each basis has its own best value."""

from __future__ import annotations

import pytest

from tests.api.conftest import recent
from tests.support.factories import make_offer, seed

# One H100 three ways: RunPod's GPU rate, CUDO's smallest VM, Lambda's whole instance.
H100S = [
    make_offer("runpod", "H100 SXM", "1.99", instance_type="rate"),
    make_offer("cudo", "H100 SXM", "2.45", instance_type="vm"),
    make_offer("cudo", "H100 SXM", "2.60", instance_type="vm-dearer", region="se-smedjebacken-1"),
    make_offer("lambdalabs", "H100 SXM", "2.99", instance_type="instance"),
]


async def prices(client, query: str = "") -> dict:
    response = await client.get(f"/api/v1/prices?{query}")
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("query", ["", "gpu=h100"], ids=["broad", "gpu-filter"])  # both query plans
async def test_each_basis_has_its_own_best_value(client, sessions, query):
    await seed(sessions, H100S, at=recent())
    body = await prices(client, query)
    basis = {i["instance_type"]: i["price_basis"] for i in body["items"]}
    assert basis == {"rate": "gpu_only", "vm": "smallest_vm", "vm-dearer": "smallest_vm", "instance": "instance"}
    assert [i["instance_type"] for i in body["items"] if i["best_value"]] == ["rate", "vm", "instance"]
    assert body["best_prices"] == [
        {"price_basis": "gpu_only", "best_price_per_gpu_hour": "1.990000"},
        {"price_basis": "smallest_vm", "best_price_per_gpu_hour": "2.450000"},
        {"price_basis": "instance", "best_price_per_gpu_hour": "2.990000"},
    ]
    assert (body["best_price_per_gpu_hour"], body["best_price_basis"]) == ("1.990000", "gpu_only")
    cudo = next(i for i in body["items"] if i["instance_type"] == "vm")
    assert "smallest" in cudo["price_includes"].lower() or "cheapest" in cudo["price_includes"].lower()


@pytest.mark.parametrize("query,expected", [
    ("price_basis=smallest_vm", {"vm", "vm-dearer"}),
    ("price_basis=instance,smallest_vm", {"vm", "vm-dearer", "instance"}),
    ("price_basis=instance&price_basis=gpu_only", {"rate", "instance"}),
])
async def test_price_basis_filter(client, sessions, query, expected):
    await seed(sessions, H100S, at=recent())
    body = await prices(client, query)
    assert {i["instance_type"] for i in body["items"]} == expected
    # Like with like: the best value is among what the filter keeps.
    assert {b["price_basis"] for b in body["best_prices"]} == {i["price_basis"] for i in body["items"]}


async def test_whole_machines_only_rank_the_cheapest_machine_first(client, sessions):
    await seed(sessions, H100S, at=recent())
    body = await prices(client, "price_basis=instance,smallest_vm&sort=price")
    assert body["items"][0]["instance_type"] == "vm"
    assert body["best_price_per_gpu_hour"] == "2.450000" and body["best_price_basis"] == "smallest_vm"


@pytest.mark.parametrize("value", ["gpu", "GPU_ONLY", "vm,instance", "x" * 200])
async def test_a_bad_price_basis_is_a_400_naming_it(client, sessions, value):
    response = await client.get(f"/api/v1/prices?price_basis={value}")
    assert response.status_code == 400, response.text
    assert "price_basis" in response.text


async def test_the_schema_documents_the_basis(client):
    schema = (await client.get("/schema/openapi.json")).json()
    offer = schema["components"]["schemas"]["Offer"]["properties"]
    assert "price_basis" in offer and "cpu_arch" in offer and "boot_seconds_min" in offer
    params = {p["name"]: p for p in schema["paths"]["/api/v1/prices"]["get"]["parameters"]}
    assert "price_basis" in params
