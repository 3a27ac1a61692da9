"""GPUs the fixtures name that the catalog did not know (V100S, Quadro RTX 5000/6000, MI355X, MI350X,
K80, P100, P4, AWS's T4G), resolved from the spellings providers use."""

from __future__ import annotations

import pytest

from providers.gpus import GPUS, resolve_gpu


@pytest.mark.parametrize("raw,memory,slug", [
    ("NVIDIA Tesla V100S", None, "v100s-pcie"),  # OVHcloud t2 flavors
    ("Tesla V100S-PCIE-32GB", None, "v100s-pcie"),  # nvidia-smi spelling
    ("NVIDIA Quadro RTX 5000", None, "quadro-rtx-5000"),  # OVHcloud rtx5000 flavors
    ("Quadro RTX 6000", 24, "quadro-rtx-6000"),  # Lambda's gpu_1x_rtx6000
    ("RTX 6000", 24, "quadro-rtx-6000"),  # Seeweb: the 24 GB card is the Turing Quadro
    ("AMD MI355X", None, "mi355x"),  # Hot Aisle
    ("MI350X", None, "mi350x"),  # CloudRift
    ("AMD Instinct MI350X", None, "mi350x"),
    ("Nvidia Tesla K80", None, "k80"),  # GCP's SKU description
    ("nvidia-tesla-k80", None, "k80"),  # GCP's accelerator type
    ("Tesla P100-PCIE-16GB", None, "p100-pcie-16gb"),
    ("nvidia-tesla-p100", 16, "p100-16gb"),  # form factor not stated: the family's unstated entry
    ("Tesla P100-SXM2-16GB", None, "p100-sxm"),
    ("nvidia-tesla-p4", None, "p4"),
    ("Tesla P4", 8, "p4"),
    ("T4G", 16, "t4"),  # AWS g5g: the T4 as AWS names it on Graviton hosts
])
def test_real_spellings_resolve(raw, memory, slug):
    gpu = resolve_gpu(raw, memory)
    assert gpu is not None and gpu.slug == slug


@pytest.mark.parametrize("raw,memory", [
    ("RTX 6000", None),  # no size: the 24 GB Quadro or the 48 GB Ada board
    ("RTX 6000", 48),  # 48 GB is the Ada board, which the provider did not name
    ("RTX 5000", None),
    ("P40", 24),  # another card: P4 must not swallow it
    ("Tesla V100S", 16),  # a V100S is 32 GB only
])
def test_ambiguous_or_other_names_stay_unknown(raw, memory):
    assert resolve_gpu(raw, memory) is None


def test_the_ada_and_pro_boards_keep_their_own_entries():
    assert resolve_gpu("RTX 6000 Ada", 48).slug == "rtx-6000-ada"
    assert resolve_gpu("RTX 5000 Ada", 32).slug == "rtx-5000-ada"
    assert resolve_gpu("RTX PRO 6000", 96).slug == "rtx-pro-6000"


@pytest.mark.parametrize("slug,memory,architecture,memory_type", [
    ("v100s-pcie", 32, "Volta", "HBM2"),
    ("quadro-rtx-5000", 16, "Turing", "GDDR6"),
    ("quadro-rtx-6000", 24, "Turing", "GDDR6"),
    ("mi355x", 288, "CDNA 4", "HBM3e"),
    ("mi350x", 288, "CDNA 4", "HBM3e"),
    ("k80", 12, "Kepler", "GDDR5"),
    ("p100-pcie-16gb", 16, "Pascal", "HBM2"),
    ("p4", 8, "Pascal", "GDDR5"),
])
def test_specs_are_recorded(slug, memory, architecture, memory_type):
    gpu = GPUS[slug]
    assert (gpu.memory_gb, gpu.specs.architecture, gpu.specs.memory_type) == (memory, architecture, memory_type)
