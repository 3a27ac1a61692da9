"""GET /api/v1/gpus and /api/v1/gpus/{slug}: the catalog with current cheapest prices."""

from __future__ import annotations

from providers.gpus import GPUS


async def test_catalog_lists_every_gpu_with_cheapest_prices(client, offers):
    response = await client.get("/api/v1/gpus")
    assert response.status_code == 200
    items = response.json()["items"]
    assert [g["slug"] for g in items] == list(GPUS)
    by_slug = {g["slug"]: g for g in items}
    assert by_slug["h100-sxm"] == {
        "slug": "h100-sxm", "name": "H100 SXM 80GB", "family": "h100", "family_name": "H100", "model": "H100",
        "vendor": "NVIDIA", "memory_gb": 80, "form_factor": "SXM",
        "specs": {"architecture": "Hopper", "memory_type": "HBM3", "bandwidth_gbps": 3350, "fp16_tflops": 989,
                  "tdp_watts": 700},
        "cheapest_on_demand_per_gpu_hour": "2.490000", "on_demand_offer_count": 2,
        "cheapest_spot_per_gpu_hour": "1.750000", "spot_offer_count": 1, "form_factor_stated": True,
    }

    def prices(slug):
        g = by_slug[slug]
        return (g["cheapest_on_demand_per_gpu_hour"], g["on_demand_offer_count"],
                g["cheapest_spot_per_gpu_hour"], g["spot_offer_count"])

    assert prices("h100-pcie") == ("2.390000", 1, None, 0)
    assert prices("rtx-4090") == ("0.350000", 2, None, 0)
    assert prices("a100-sxm-40gb") == ("1.290000", 1, None, 0)
    assert prices("b200-sxm") == (None, 0, None, 0)
    priced = {slug for slug in by_slug if prices(slug) != (None, 0, None, 0)}
    assert priced == {"h100-sxm", "h100-pcie", "rtx-4090", "a100-sxm-40gb"}  # the unknown GPU is in none


async def test_catalog_without_data_has_no_prices(client, sessions):
    items = (await client.get("/api/v1/gpus")).json()["items"]
    assert len(items) == len(GPUS)
    assert all(g["cheapest_on_demand_per_gpu_hour"] is None and g["spot_offer_count"] == 0 for g in items)


async def test_family_page_has_variants_and_cheapest_per_provider(client, offers):
    response = await client.get("/api/v1/gpus/h100")
    assert response.status_code == 200
    body = response.json()
    assert (body["slug"], body["kind"], body["name"], body["family"]) == ("h100", "family", "H100", "h100")
    assert [v["slug"] for v in body["variants"]] == ["h100-sxm", "h100-pcie", "h100-nvl", "h100-80gb"]
    assert [v["cheapest_on_demand_per_gpu_hour"] for v in body["variants"]] == ["2.490000", "2.390000", None, None]
    assert [(p["provider"]["name"], p["cheapest_on_demand_per_gpu_hour"], p["cheapest_spot_per_gpu_hour"])
            for p in body["providers"]] == [("runpod", "2.390000", "1.750000"), ("lambdalabs", "2.490000", None)]
    assert body["providers"][1]["provider"]["display_name"] == "Lambda"


async def test_variant_page_any_case(client, offers):
    body = (await client.get("/api/v1/gpus/H100-SXM")).json()
    assert (body["slug"], body["kind"], body["name"], body["family"]) == ("h100-sxm", "variant", "H100 SXM 80GB", "h100")
    assert [v["slug"] for v in body["variants"]] == ["h100-sxm"]
    # a provider with spot prices only comes after those with on-demand prices
    assert [(p["provider"]["name"], p["cheapest_on_demand_per_gpu_hour"], p["cheapest_spot_per_gpu_hour"])
            for p in body["providers"]] == [("lambdalabs", "2.490000", None), ("runpod", None, "1.750000")]


async def test_gpu_without_offers_has_empty_providers(client, offers):
    body = (await client.get("/api/v1/gpus/b200")).json()
    assert body["kind"] == "family" and body["providers"] == []
    assert body["variants"][0]["cheapest_on_demand_per_gpu_hour"] is None
