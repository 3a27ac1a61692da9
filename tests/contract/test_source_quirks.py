"""Formats seen in real provider data that once dropped or misfiled offers (issue 16, item 4)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from providers.gpus import resolve_gpu
from providers.lambdalabs.offers import parse_instance_types
from scrapers.azure.offers import parse_items


def _lambda_type(name: str, gpu_description: str | None, gpus: int, description: str = "") -> dict:
    itype = {"name": name, "description": description or f"{gpus}x {gpu_description}",
             "price_cents_per_hour": 299,
             "specs": {"vcpus": 26, "memory_gib": 225, "storage_gib": 2816, "gpus": gpus}}
    if gpu_description is not None:
        itype["gpu_description"] = gpu_description
    return {"instance_type": itype, "regions_with_capacity_available": [{"name": "us-east-1", "description": "Virginia, USA"}]}


@pytest.mark.parametrize(
    "type_name,description,gpus,slug",
    [
        ("gpu_1x_h100_sxm5", "H100 (80 GB SXM5)", 1, "h100-sxm"),
        ("gpu_8x_h100_sxm5", "8x NVIDIA H100 80GB SXM5", 8, "h100-sxm"),
        ("gpu_8x_h100_sxm5", "1x H100 (80 GB SXM5)", 8, "h100-sxm"),  # count prefix disagrees: specs.gpus wins
        ("gpu_1x_a100", "A100 (40 GB PCIe)", 1, "a100-pcie-40gb"),
        ("gpu_1x_gh200", "GH200 (96 GB)", 1, "gh200-96gb"),
        ("gpu_8x_a100_80gb_sxm4", "NVIDIA A100 80GB", 8, "a100-sxm-80gb"),  # board from the type name
        ("gpu_1x_a10", "NVIDIA A10 24 GB", 1, "a10"),
        ("gpu_8x_b200_sxm6", "B200 (180 GB SXM6)", 8, "b200-sxm"),
    ],
)
def test_lambda_gpu_description_formats_keep_the_type(type_name, description, gpus, slug):
    result = parse_instance_types({type_name: _lambda_type(type_name, description, gpus)})
    assert result.skipped == []
    (offer,) = result.offers
    assert offer.gpu_count == Decimal(gpus) and offer.price_per_hour == Decimal("2.99")
    gpu = resolve_gpu(offer.gpu_raw_name, offer.gpu_memory_gb, offer.gpu_hint)
    assert gpu is not None and gpu.slug == slug
    assert not offer.gpu_raw_name[:1].isdigit(), "the count prefix is not part of the GPU name"


def test_lambda_missing_gpu_description_reads_the_description():
    entry = _lambda_type("gpu_1x_h100_pcie", None, 1, description="1x H100 (80 GB PCIe)")
    (offer,) = parse_instance_types({"gpu_1x_h100_pcie": entry}).offers
    assert offer.gpu_raw_name == "H100 (80 GB PCIe)"
    assert resolve_gpu(offer.gpu_raw_name, offer.gpu_memory_gb, offer.gpu_hint).slug == "h100-pcie"


def test_lambda_unknown_gpu_is_kept_under_its_name():
    result = parse_instance_types({"gpu_1x_x": _lambda_type("gpu_1x_x", "Mystery Accelerator", 1)})
    (offer,) = result.offers
    assert offer.gpu_raw_name == "Mystery Accelerator"
    assert resolve_gpu(offer.gpu_raw_name, offer.gpu_memory_gb, offer.gpu_hint) is None


def _azure_item(meter: str, sku: str, price: float, region: str = "eastus") -> dict:
    return {"currencyCode": "USD", "retailPrice": Decimal(str(price)), "unitPrice": Decimal(str(price)),
            "armRegionName": region, "location": "US East", "meterName": meter, "skuName": sku,
            "productName": "NCads A100 v4 Series", "serviceName": "Virtual Machines", "unitOfMeasure": "1 Hour",
            "type": "Consumption", "isPrimaryMeterRegion": True, "armSkuName": "Standard_NC24ads_A100_v4"}


@pytest.mark.parametrize(
    "meter,sku,market",
    [
        ("NC24ads A100 v4", "NC24ads_A100_v4", "ondemand"),
        ("NC24ads A100 v4 Spot", "NC24ads_A100_v4 Spot", "spot"),
        ("NC24ads A100 v4", "NC24ads_A100_v4 Spot", "spot"),  # marker only in skuName
        ("NC24ads A100 v4 Spot", "NC24ads_A100_v4", "spot"),  # marker only in meterName
        ("NC24ads A100 v4", "NC24ads_A100_v4 Low Priority", None),  # retired low priority: no offer
        ("NC24ads A100 v4 Low Priority", "NC24ads_A100_v4", None),
    ],
)
def test_azure_market_markers_in_meter_or_sku_name(meter, sku, market):
    result = parse_items([_azure_item(meter, sku, 1.1)])
    assert [o.offer_key.rsplit("|", 1)[1] for o in result.offers] == ([market] if market else [])


def test_azure_spot_and_low_priority_never_replace_the_on_demand_price():
    items = [
        _azure_item("NC24ads A100 v4", "NC24ads_A100_v4", 3.673),
        _azure_item("NC24ads A100 v4", "NC24ads_A100_v4 Spot", 1.1019),
        _azure_item("NC24ads A100 v4", "NC24ads_A100_v4 Low Priority", 0.7346),
    ]
    prices = {o.offer_key: o.price_per_hour for o in parse_items(items).offers}
    assert prices == {
        "Standard_NC24ads_A100_v4|eastus|ondemand": Decimal("3.673"),
        "Standard_NC24ads_A100_v4|eastus|spot": Decimal("1.1019"),
    }
