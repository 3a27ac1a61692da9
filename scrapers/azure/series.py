"""Azure GPU VM sizes -> the GPUs inside them. The Retail Prices API names a size, never its GPU.

Only sizes whose GPU, count and form factor Microsoft's size pages state are listed; any other
size is ignored by the scraper (and logged at debug), never guessed. Retired series (NCv3 V100,
NDv2, NCv1/v2, NDv1) are left out on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class VmGpu:
    raw_name: str
    count: Decimal
    """GPUs per VM; a fraction for the NVads A10 v5 partitions (1/6 of one A10)."""
    memory_gb: int
    """Memory of one whole GPU (the card), even for a partition."""
    hint: str = ""


def _gpu(raw_name: str, memory_gb: int, count: str, form_factor: str = "") -> VmGpu:
    share = Fraction(count)
    hint = form_factor
    if share < 1:
        hint = f"{hint} fractional GPU: {share} of one card".strip()
    return VmGpu(raw_name, Decimal(share.numerator) / Decimal(share.denominator), memory_gb, hint)


VM_GPUS: dict[str, VmGpu] = {
    # NC A100 v4: A100 80 GB PCIe
    "Standard_NC24ads_A100_v4": _gpu("A100", 80, "1", "PCIe"),
    "Standard_NC48ads_A100_v4": _gpu("A100", 80, "2", "PCIe"),
    "Standard_NC96ads_A100_v4": _gpu("A100", 80, "4", "PCIe"),
    # ND A100 v4 / NDm A100 v4: 8x A100 SXM (NVLink), 40 GB and 80 GB
    "Standard_ND96asr_v4": _gpu("A100", 40, "8", "SXM"),
    "Standard_ND96amsr_A100_v4": _gpu("A100", 80, "8", "SXM"),
    # ND H100 v5, ND H200 v5: 8-GPU SXM boards
    "Standard_ND96isr_H100_v5": _gpu("H100", 80, "8", "SXM"),
    "Standard_ND96isr_H200_v5": _gpu("H200", 141, "8", "SXM"),
    # NC H100 v5: H100 NVL 94 GB
    "Standard_NC40ads_H100_v5": _gpu("H100", 94, "1", "NVL"),
    "Standard_NC80adis_H100_v5": _gpu("H100", 94, "2", "NVL"),
    # ND MI300X v5: 8x AMD Instinct MI300X
    "Standard_ND96isr_MI300X_v5": _gpu("MI300X", 192, "8"),
    # NCasT4_v3: T4 16 GB
    "Standard_NC4as_T4_v3": _gpu("T4", 16, "1"),
    "Standard_NC8as_T4_v3": _gpu("T4", 16, "1"),
    "Standard_NC16as_T4_v3": _gpu("T4", 16, "1"),
    "Standard_NC64as_T4_v3": _gpu("T4", 16, "4"),
    # NVads A10 v5: partitions from 1/6 of an A10 (4 GB) up to two whole A10s
    "Standard_NV6ads_A10_v5": _gpu("A10", 24, "1/6"),
    "Standard_NV12ads_A10_v5": _gpu("A10", 24, "1/3"),
    "Standard_NV18ads_A10_v5": _gpu("A10", 24, "1/2"),
    "Standard_NV36ads_A10_v5": _gpu("A10", 24, "1"),
    "Standard_NV36adms_A10_v5": _gpu("A10", 24, "1"),
    "Standard_NV72ads_A10_v5": _gpu("A10", 24, "2"),
}

# armSkuName substrings for the API's $filter. Together they select every size above (plus a
# few unmapped ones, which are ignored), so the walk stays a handful of pages.
SKU_MARKERS: tuple[str, ...] = (
    "_A100_v4", "ND96asr_v4", "_H100_v5", "_H200_v5", "_MI300X_v5", "_T4_v3", "_A10_v5",
)
