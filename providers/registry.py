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
    "fluidstack": "providers.fluidstack:FluidStackSource",
    "shadeform": "providers.shadeform:ShadeformSource",  # an aggregator: launches on the cloud an offer names
    "hotaisle": "providers.hotaisle:HotAisleSource",
    "primeintellect": "providers.primeintellect:PrimeIntellectSource",  # an aggregator, like Shadeform
    # scrapers/: price-only sources
    "azure": "scrapers.azure:AzureSource",
    "aws": "scrapers.aws:AwsSource",
    "vultr": "scrapers.vultr:VultrSource",
    "oci": "scrapers.oci:OciSource",
    # scrapers/ added for issue 16 (price-only)
    "gcp": "scrapers.gcp:GcpSource",
    "koyeb": "scrapers.koyeb:KoyebSource",
    "ovhcloud": "scrapers.ovhcloud:OvhCloudSource",
    "latitude": "scrapers.latitude:LatitudeSource",
    # scrapers/ added for issue 16, second wave (price-only)
    "cloudrift": "scrapers.cloudrift:CloudRiftSource",
    "jarvislabs": "scrapers.jarvislabs:JarvisLabsSource",
    "seeweb": "scrapers.seeweb:SeewebSource",  # EUR, converted at the ECB rate (providers/fx.py)
}


# Simulated clouds for the demo, trials and tests: never part of the public contract run
# against recorded responses, and only polled/offered when enabled in settings.
SIMULATED: dict[str, str] = {
    "sandbox": "providers.sandbox:SandboxProvider",
}


class UnknownSource(KeyError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown source {name!r}; known: {', '.join(sorted(SOURCES))}")


@cache
def get_source_class(name: str) -> type[PriceSource]:
    target = SOURCES.get(name) or SIMULATED.get(name)
    if target is None:
        raise UnknownSource(name)
    module_name, class_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if cls.NAME != name:
        raise RuntimeError(f"{target} declares NAME={cls.NAME!r}, registered as {name!r}")
    return cls


def enabled_source_names(sandbox_enabled: bool) -> list[str]:
    """What the poller polls: every real source, plus the simulated cloud when it is on."""
    return sorted(SOURCES) + (sorted(SIMULATED) if sandbox_enabled else [])


def all_source_classes() -> list[type[PriceSource]]:
    return [get_source_class(name) for name in sorted(SOURCES)]


def provider_names(sandbox_enabled: bool = True) -> list[str]:
    """Sources whose adapters run instances (the console can bind keys for these)."""
    return [n for n in enabled_source_names(sandbox_enabled) if issubclass(get_source_class(n), Provider)]
