"""The GPU catalog: one slug per variant, unstated form factors under the family, models providers name."""

from __future__ import annotations

import pytest

from providers import gpus as catalog
from providers.gpus import FAMILIES, GPUS, find_by_name, gpus_in, resolve_gpu


def test_every_variant_has_a_slug_of_its_own():
    slugs = [gpu.slug for variants in FAMILIES.values() for gpu in variants]
    assert len(slugs) == len(set(slugs)), "two variants share a slug"
    for family, variants in FAMILIES.items():
        if len(variants) > 1:  # a family page and a variant page are then different pages
            assert family not in {gpu.slug for gpu in variants}, f"a {family} variant has the family's slug"
    for family in FAMILIES:  # no slug stands for a family and another family's variant
        assert all(gpu.slug != family or gpu.family == family for gpu in GPUS.values())


@pytest.mark.parametrize("raw,memory,family", [
    ("nvidia_h100", 80, "h100"),  # DigitalOcean: no SXM/PCIe in the name
    ("NVIDIA_A100", 80, "a100"),  # Vultr
    ("Tesla V100", 16, "v100"),  # Vast.ai
])
def test_an_unstated_form_factor_is_listed_under_the_family_never_as_a_variant(raw, memory, family):
    gpu = resolve_gpu(raw, memory)
    assert gpu is not None and gpu.family == family
    assert not gpu.form_factor_stated and gpu.note == "form factor not stated by provider"
    assert gpu.page_slug == family  # links go to the family's page
    assert gpu.specs is None  # no SXM figures passed off for a card that may be PCIe
    assert gpu not in FAMILIES[family]  # not a variant (no page, no compare column, not in the sitemap)
    assert gpu in gpus_in(family)  # but the family's filter and page include its offers
    assert gpu.slug != family


def test_a_stated_form_factor_still_resolves_to_its_variant():
    assert resolve_gpu("H100 80GB HBM3").slug == "h100-sxm"
    assert resolve_gpu("H100-80G-PCIe").slug == "h100-pcie"
    assert resolve_gpu("A100 SXM4 40GB").slug == "a100-sxm-40gb"
    assert resolve_gpu("NVIDIA H100 NVL").slug == "h100-nvl"


@pytest.mark.parametrize("raw,memory,slug", [
    ("NVIDIA RTX 2000 Ada Generation", 16, "rtx-2000-ada"),  # RunPod's spelling
    ("RTX 2000 Ada", None, "rtx-2000-ada"),
    ("NVIDIA RTX 5000 Ada Generation", 32, "rtx-5000-ada"),
    ("RTX 4000 SFF Ada", 20, "rtx-4000-sff-ada"),  # a 70 W board of its own
    ("NVIDIA RTX 4000 Ada Generation", 20, "rtx-4000-ada"),
    ("NVIDIA RTX A4500", 20, "rtx-a4500"),
])
def test_models_providers_name_are_in_the_catalog(raw, memory, slug):
    gpu = resolve_gpu(raw, memory)
    assert gpu is not None and gpu.slug == slug and gpu.specs is not None


def test_a_typed_name_for_an_unstated_size_stands_for_every_card_of_that_size():
    assert {g.slug for g in find_by_name("A100 80GB")} == {"a100-sxm-80gb", "a100-pcie-80gb", "a100-80gb"}


def test_interconnect_where_known():
    interconnect = catalog.interconnect
    assert interconnect(GPUS["h100-sxm"]) == "NVLink"
    assert interconnect(GPUS["h100-pcie"], "H100-80G-PCIe-NVLink") == "NVLink"  # a bridged PCIe pair
    assert interconnect(GPUS["h100-pcie"], "H100-80G-PCIe") == "PCIe"
    assert interconnect(GPUS["h100-80gb"], "nvidia_h100") is None  # not stated
    assert interconnect(GPUS["rtx-4090"], "RTX 4090") is None
