"""Every price source and provider, by name. Plain data with lazy imports (libcloud style):
importing the registry imports no adapter. A test walks ``providers/`` and ``scrapers/`` and
fails on a source that is not listed here."""

from __future__ import annotations

import importlib
from functools import cache

from providers.base import PriceSource, Provider

SOURCES: dict[str, str] = {
    # providers/: price sources that also run instances (lifecycle grows with the console)
    "lambdalabs": "providers.lambdalabs:LambdaSource",
    "runpod": "providers.runpod:RunPodSource",
    "vastai": "providers.vastai:VastSource",
    "verda": "providers.verda:VerdaSource",
    "hyperstack": "providers.hyperstack:HyperstackSource",
    "tensordock": "providers.tensordock:TensorDockSource",
    "cudo": "providers.cudo:CudoSource",
    "digitalocean": "providers.digitalocean:DigitalOceanSource",
    # scrapers/: price-only sources
    "azure": "scrapers.azure:AzureSource",
    "aws": "scrapers.aws:AwsSource",
    "vultr": "scrapers.vultr:VultrSource",
    "oci": "scrapers.oci:OciSource",
    "fluidstack": "scrapers.fluidstack:FluidStackSource",
}


class UnknownSource(KeyError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown source {name!r}; known: {', '.join(sorted(SOURCES))}")


@cache
def get_source_class(name: str) -> type[PriceSource]:
    try:
        target = SOURCES[name]
    except KeyError:
        raise UnknownSource(name) from None
    module_name, class_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if cls.NAME != name:
        raise RuntimeError(f"{target} declares NAME={cls.NAME!r}, registered as {name!r}")
    return cls


def all_source_classes() -> list[type[PriceSource]]:
    return [get_source_class(name) for name in sorted(SOURCES)]


def provider_classes() -> list[type[Provider]]:
    return [cls for cls in all_source_classes() if issubclass(cls, Provider)]
