"""Cost Estimator shapes + products -> GPU offers.

A GPU shape's ``ocpu`` product is its GPU part, priced per GPU-hour (OCPUs and memory are
included), so the instance price is that part's USD pay-as-you-go price x ``gpuQty``.
Preemptible capacity costs 50% of on-demand (OCI docs) and is published as a separate spot
offer where the shape allows it. OCI list prices are the same in every region, and the
region list needs an authenticated call, so every offer is in region "global".
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal
from typing import Any

from providers.base import FetchResult, Offer
from providers.money import BadPrice, to_decimal

NAME = "oci"
PRICING_URL = "https://www.oracle.com/cloud/compute/gpu/pricing/"
REGION = "global"
PREEMPTIBLE_SHARE = Decimal("0.5")

# 8-GPU HGX boards (SXM); the name alone does not say it.
_SXM_SHAPES = frozenset({"BM.GPU.H100.8", "BM.GPU.H200.8", "BM.GPU4.8", "BM.GPU.A100-v2.8"})
# Shape-name tokens that are a GPU generation, not a model name.
_GPU_TOKENS = {"GPU4": "A100", "GPU3": "V100", "GPU2": "P100"}
_MODEL_ALIASES = {"RTXPRO": "RTX PRO 6000"}
_DISPLAY_SUFFIX = re.compile(r"\s*\(.*\)\s*$")  # "BM.GPU.GB200.4 (NVL72)" -> the API shape name


def parse_catalog(shapes: list[Any], products: list[Any]) -> FetchResult:
    result = FetchResult()
    parts = {p.get("partNumber"): p for p in products if isinstance(p, dict)}
    for shape in shapes:
        try:
            result.offers.extend(_offers_for(shape, parts))
        except (BadPrice, KeyError, TypeError, ValueError) as exc:
            label = shape.get("name") if isinstance(shape, dict) else repr(shape)[:80]
            result.skip(NAME, str(label), str(exc) or type(exc).__name__)
    return result


def _offers_for(shape: dict[str, Any], parts: dict[str, Any]) -> list[Offer]:
    if shape["subType"]["value"] != "gpu":
        return []  # CPU shapes are not GPU offers
    if shape.get("hidden") or shape.get("status") != "ACTIVE":
        return []  # not orderable
    name = _DISPLAY_SUFFIX.sub("", shape["name"])
    gpu_qty = _positive_int(shape["gpuQty"], "gpuQty")
    gpu_part = next((p for p in shape["products"] if p["type"]["value"] == "ocpu"), None)
    if gpu_part is None:
        raise ValueError("no ocpu (GPU) product")
    if gpu_part["partNumber"] not in parts:
        raise ValueError(f"part {gpu_part['partNumber']} is not in products.json")
    price = _usd_hourly_price(parts[gpu_part["partNumber"]]) * gpu_qty
    total_memory = shape.get("gpuMemoryQty")
    on_demand = Offer(
        source=NAME,
        instance_type=name,
        gpu_raw_name=_gpu_model(name),
        gpu_count=Decimal(gpu_qty),
        price_per_hour=price,
        region=REGION,
        # gpuMemoryQty is the shape's total GPU memory (the estimator gets a few new shapes wrong)
        gpu_memory_gb=int(total_memory) // gpu_qty if total_memory else None,
        ram_gb=_optional_int(shape.get("bundleMemoryQty")),
        buy_url=PRICING_URL,
        gpu_hint="SXM" if name in _SXM_SHAPES else "",
    )
    if shape.get("allowPreemptible") is not True:
        return [on_demand]
    return [on_demand, replace(on_demand, spot=True, price_per_hour=price * PREEMPTIBLE_SHARE)]


def _usd_hourly_price(product: dict[str, Any]) -> Decimal:
    part = product["partNumber"]
    if product.get("billingModel") != "UCM" or product.get("pricetype") != "HOUR":
        raise ValueError(f"part {part} is not billed per hour")
    usd = [loc for loc in product["currencyCodeLocalizations"] if loc["currencyCode"] == "USD"]
    if len(usd) != 1:
        raise ValueError(f"part {part} has no single USD price list")
    payg = [p for p in usd[0]["prices"] if p["model"] == "PAY_AS_YOU_GO"]
    if len(payg) != 1:
        raise ValueError(f"part {part} has {len(payg)} pay-as-you-go USD prices")
    return to_decimal(payg[0]["value"])


def _gpu_model(shape_name: str) -> str:
    parts = re.split(r"[.\-]", shape_name.upper())
    for token, model in _GPU_TOKENS.items():
        if token in parts:
            return model
    if "GPU" in parts and parts.index("GPU") + 1 < len(parts):
        token = parts[parts.index("GPU") + 1]
        return _MODEL_ALIASES.get(token, token)
    raise ValueError("no GPU model in the shape name")


def _positive_int(value: Any, field: str) -> int:
    # Some quantities arrive as fractional numbers (e.g. 81.6); a GPU count must be whole.
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or value <= 0 or value % 1:
        raise ValueError(f"{field} is {value!r}, not a positive whole number")
    return int(value)


def _optional_int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, Decimal)) and not isinstance(value, bool) else None
