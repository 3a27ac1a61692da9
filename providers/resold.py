"""Which underlying clouds an aggregator's offer may be published for (one machine, one offer).

Shadeform and Prime Intellect resell other clouds. An offer they list for a cloud that has its
own source here (Lambda, RunPod, Verda/DataCrunch, ...) is the same machine that source already
publishes, so it is left out. Between the two aggregators, a cloud Shadeform documents reselling
is taken from Shadeform only (its Cloud enum in the published OpenAPI).
"""

from __future__ import annotations

import re

# Aggregator spellings of clouds that have a direct source -> that source's name.
DIRECT_SOURCES: dict[str, str] = {
    "aws": "aws", "azure": "azure", "gcp": "gcp", "oci": "oci", "lambdalabs": "lambdalabs",
    "lambda": "lambdalabs", "runpod": "runpod", "tensordock": "tensordock", "datacrunch": "verda",
    "verda": "verda", "vultr": "vultr", "hyperstack": "hyperstack", "digitalocean": "digitalocean",
    "fluidstack": "fluidstack", "vastai": "vastai", "vast": "vastai", "cudo": "cudo",
    "cudocompute": "cudo", "koyeb": "koyeb", "ovhcloud": "ovhcloud", "ovh": "ovhcloud",
}
# Shadeform's documented Cloud enum (shadeform/docs openapi.yaml).
SHADEFORM_CLOUDS = frozenset({
    "aws", "azure", "lambdalabs", "tensordock", "runpod", "latitude", "jarvislabs", "oblivus",
    "paperspace", "datacrunch", "massedcompute", "vultr",
})


def cloud_key(name: str) -> str:
    """"CrusoeCloud", "crusoe_cloud", "crusoe" -> "crusoe"."""
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    return key[:-5] if key.endswith("cloud") and len(key) > 5 else key


def direct_source(cloud: str) -> str | None:
    """The source here that already publishes this cloud's own prices, if any."""
    return DIRECT_SOURCES.get(cloud_key(cloud))


def resold_by_shadeform(cloud: str) -> bool:
    return cloud_key(cloud) in {cloud_key(c) for c in SHADEFORM_CLOUDS}
