"""The canonical GPU catalog and the one resolver from provider spellings to it.

A canonical GPU is a model + form factor + memory size (``h100-sxm``, ``a100-pcie-40gb``).
Its *family* (``h100``) groups the variants for pages like ``/gpus/h100``; every variant has a
slug of its own (never the family's, unless the family has a single variant).

When a family comes in several form factors and the provider does not say which one it sells
("H100 80GB"), the offer is placed on the family's *unstated* entry (``h100-80gb``): listed
under the family with the note "form factor not stated by provider", without specs (an SXM
and a PCIe card differ), and never shown as a variant of its own (no page, not in /compare or
the sitemap). A name the resolver cannot place returns ``None``: the offer is kept with its
raw name and listed as unknown (page and CLI), never dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from providers.base import CpuArch

SXM, PCIE, NVL = "SXM", "PCIe", "NVL"


@dataclass(frozen=True, slots=True)
class GpuSpecs:
    """Vendor-published figures for the comparison table (dense FP16/BF16 tensor TFLOPS)."""

    architecture: str
    memory_type: str
    bandwidth_gbps: int
    fp16_tflops: int
    tdp_watts: int


UNSTATED_NOTE = "form factor not stated by provider"


@dataclass(frozen=True, slots=True)
class CanonicalGpu:
    slug: str
    family: str
    model: str
    vendor: str
    memory_gb: int
    form_factor: str | None
    specs: GpuSpecs | None
    """None only for an unstated entry: its form factor, hence its figures, are not known."""
    form_factor_stated: bool = True
    """False for a family's unstated entry ("H100 80GB" from a provider that does not say SXM or PCIe)."""

    @property
    def name(self) -> str:
        parts = [self.model]
        if self.form_factor:
            parts.append(self.form_factor)
        parts.append(f"{self.memory_gb}GB")
        return " ".join(parts)

    @property
    def page_slug(self) -> str:
        """Where a link to this GPU goes: its own page, or the family's for an unstated entry."""
        return self.slug if self.form_factor_stated else self.family

    @property
    def note(self) -> str:
        return "" if self.form_factor_stated else UNSTATED_NOTE


@dataclass(frozen=True, slots=True)
class _Family:
    slug: str
    model: str
    vendor: str
    pattern: str
    # (form factor or None, memory GB, specs)
    variants: tuple[tuple[str | None, int, GpuSpecs], ...]
    unstated: tuple[int, ...] = ()
    """Memory sizes sold in several form factors, for offers that do not say which (``h100-80gb``)."""
    bare_name: str = ""
    """A shorter spelling that names this card only together with its memory size ("RTX 6000" is the
    Quadro with 24 GB; without a size it may be the 48 GB Ada board, so it stays unknown)."""


def _s(arch: str, mem: str, bw: int, tf: int, tdp: int) -> GpuSpecs:
    return GpuSpecs(arch, mem, bw, tf, tdp)


_H100_SXM = _s("Hopper", "HBM3", 3350, 989, 700)
_A100_80 = _s("Ampere", "HBM2e", 2039, 312, 400)
_A100_40 = _s("Ampere", "HBM2", 1555, 312, 400)
_V100 = _s("Volta", "HBM2", 900, 125, 300)

# Order matters: more specific patterns first (GH200 before H200, L40S before L40 before L4).
_FAMILIES: tuple[_Family, ...] = (
    _Family("gh200", "GH200", "NVIDIA", r"GH200", ((None, 96, _s("Hopper", "HBM3", 4000, 989, 900)),
                                                   (None, 144, _s("Hopper", "HBM3e", 4900, 989, 900)))),
    _Family("h200", "H200", "NVIDIA", r"H200", ((SXM, 141, _s("Hopper", "HBM3e", 4800, 989, 700)),
                                                (NVL, 141, _s("Hopper", "HBM3e", 4800, 835, 600)))),
    _Family("h100", "H100", "NVIDIA", r"H100", ((SXM, 80, _H100_SXM),
                                                (PCIE, 80, _s("Hopper", "HBM2e", 2000, 756, 350)),
                                                (NVL, 94, _s("Hopper", "HBM3", 3900, 835, 400))),
            unstated=(80,)),
    _Family("gb200", "GB200", "NVIDIA", r"GB200", ((None, 186, _s("Blackwell", "HBM3e", 8000, 2500, 1200)),)),
    _Family("b300", "B300", "NVIDIA", r"B300", ((SXM, 270, _s("Blackwell Ultra", "HBM3e", 8000, 2500, 1100)),)),
    _Family("b200", "B200", "NVIDIA", r"B200", ((SXM, 180, _s("Blackwell", "HBM3e", 8000, 2250, 1000)),)),
    _Family("a100x", "A100X", "NVIDIA", r"A100X", ((None, 80, _A100_80),)),
    _Family("a100", "A100", "NVIDIA", r"A100", ((SXM, 80, _A100_80), (SXM, 40, _A100_40),
                                                (PCIE, 80, _s("Ampere", "HBM2e", 1935, 312, 300)),
                                                (PCIE, 40, _s("Ampere", "HBM2", 1555, 312, 250))),
            unstated=(80, 40)),
    _Family("a10g", "A10G", "NVIDIA", r"A10G", ((None, 24, _s("Ampere", "GDDR6", 600, 70, 300)),)),
    _Family("a10", "A10", "NVIDIA", r"A10", ((None, 24, _s("Ampere", "GDDR6", 600, 125, 150)),)),
    _Family("a40", "A40", "NVIDIA", r"A40", ((None, 48, _s("Ampere", "GDDR6", 696, 150, 300)),)),
    _Family("a30", "A30", "NVIDIA", r"A30", ((None, 24, _s("Ampere", "HBM2", 933, 165, 165)),)),
    _Family("a16", "A16", "NVIDIA", r"A16", ((None, 16, _s("Ampere", "GDDR6", 200, 18, 62)),)),
    _Family("l40s", "L40S", "NVIDIA", r"L40S", ((None, 48, _s("Ada Lovelace", "GDDR6", 864, 362, 350)),)),
    _Family("l40", "L40", "NVIDIA", r"L40", ((None, 48, _s("Ada Lovelace", "GDDR6", 864, 181, 300)),)),
    _Family("l4", "L4", "NVIDIA", r"L4", ((None, 24, _s("Ada Lovelace", "GDDR6", 300, 121, 72)),)),
    # T4G: the same Turing card, as AWS names it in its Graviton (arm64) g5g instances.
    _Family("t4", "T4", "NVIDIA", r"T4G?", ((None, 16, _s("Turing", "GDDR6", 320, 65, 70)),)),
    # V100S: the 32 GB PCIe refresh (1,134 GB/s, 130 TFLOPS tensor); before V100.
    _Family("v100s", "V100S", "NVIDIA", r"V100S", ((PCIE, 32, _s("Volta", "HBM2", 1134, 130, 250)),)),
    _Family("v100", "V100", "NVIDIA", r"V100", ((SXM, 16, _V100), (SXM, 32, _V100),
                                                (PCIE, 16, _s("Volta", "HBM2", 900, 112, 250)),
                                                (PCIE, 32, _s("Volta", "HBM2", 900, 112, 250))),
            unstated=(16, 32)),
    _Family("rtx-pro-6000", "RTX PRO 6000", "NVIDIA", r"RTX ?PRO ?6000",
            ((None, 96, _s("Blackwell", "GDDR7", 1792, 500, 600)),)),
    _Family("rtx-6000-ada", "RTX 6000 Ada", "NVIDIA", r"RTX ?6000 ?ADA",
            ((None, 48, _s("Ada Lovelace", "GDDR6", 960, 364, 300)),)),
    _Family("rtx-5000-ada", "RTX 5000 Ada", "NVIDIA", r"RTX ?5000 ?ADA",
            ((None, 32, _s("Ada Lovelace", "GDDR6", 576, 261, 250)),)),
    # The SFF card is another board (70 W, 280 GB/s), not the 130 W RTX 4000 Ada.
    _Family("rtx-4000-sff-ada", "RTX 4000 SFF Ada", "NVIDIA", r"RTX ?4000 ?SFF ?ADA",
            ((None, 20, _s("Ada Lovelace", "GDDR6", 280, 77, 70)),)),
    _Family("rtx-4000-ada", "RTX 4000 Ada", "NVIDIA", r"RTX ?4000 ?ADA",
            ((None, 20, _s("Ada Lovelace", "GDDR6", 360, 107, 130)),)),
    _Family("rtx-2000-ada", "RTX 2000 Ada", "NVIDIA", r"RTX ?2000 ?(?:SFF ?)?ADA",
            ((None, 16, _s("Ada Lovelace", "GDDR6", 224, 48, 70)),)),
    # Turing Quadro boards (tensor FP16 89.2 / 130.5 TFLOPS). A bare "RTX 6000" names this card
    # only with its 24 GB: the 48 GB Ada board is "RTX 6000 Ada" (matched above).
    _Family("quadro-rtx-6000", "Quadro RTX 6000", "NVIDIA", r"QUADRO ?RTX ?6000",
            ((None, 24, _s("Turing", "GDDR6", 672, 130, 260)),), bare_name=r"RTX ?6000"),
    _Family("quadro-rtx-5000", "Quadro RTX 5000", "NVIDIA", r"QUADRO ?RTX ?5000",
            ((None, 16, _s("Turing", "GDDR6", 448, 89, 230)),), bare_name=r"RTX ?5000"),
    _Family("rtx-a6000", "RTX A6000", "NVIDIA", r"(?:RTX ?)?A6000", ((None, 48, _s("Ampere", "GDDR6", 768, 155, 300)),)),
    _Family("rtx-a5000", "RTX A5000", "NVIDIA", r"(?:RTX ?)?A5000", ((None, 24, _s("Ampere", "GDDR6", 768, 111, 230)),)),
    _Family("rtx-a4500", "RTX A4500", "NVIDIA", r"(?:RTX ?)?A4500", ((None, 20, _s("Ampere", "GDDR6", 640, 95, 200)),)),
    _Family("rtx-a4000", "RTX A4000", "NVIDIA", r"(?:RTX ?)?A4000", ((None, 16, _s("Ampere", "GDDR6", 448, 77, 140)),)),
    _Family("rtx-5090", "RTX 5090", "NVIDIA", r"RTX ?5090", ((None, 32, _s("Blackwell", "GDDR7", 1792, 209, 575)),)),
    _Family("rtx-4090", "RTX 4090", "NVIDIA", r"RTX ?4090", ((None, 24, _s("Ada Lovelace", "GDDR6X", 1008, 165, 450)),)),
    _Family("rtx-4080", "RTX 4080", "NVIDIA", r"RTX ?4080", ((None, 16, _s("Ada Lovelace", "GDDR6X", 717, 97, 320)),)),
    _Family("rtx-3080", "RTX 3080", "NVIDIA", r"RTX ?3080", ((None, 10, _s("Ampere", "GDDR6X", 760, 59, 320)),)),
    _Family("rtx-3070", "RTX 3070", "NVIDIA", r"RTX ?3070", ((None, 8, _s("Ampere", "GDDR6", 448, 40, 220)),)),
    _Family("rtx-3090", "RTX 3090", "NVIDIA", r"RTX ?3090", ((None, 24, _s("Ampere", "GDDR6X", 936, 71, 350)),)),
    _Family("mi355x", "MI355X", "AMD", r"MI355X", ((None, 288, _s("CDNA 4", "HBM3e", 8000, 2500, 1400)),)),
    _Family("mi350x", "MI350X", "AMD", r"MI350X", ((None, 288, _s("CDNA 4", "HBM3e", 8000, 2300, 1000)),)),
    _Family("mi325x", "MI325X", "AMD", r"MI325X", ((None, 256, _s("CDNA 3", "HBM3e", 6000, 1307, 1000)),)),
    _Family("mi300x", "MI300X", "AMD", r"MI300X", ((None, 192, _s("CDNA 3", "HBM3", 5300, 1307, 750)),)),
    # Pascal and Kepler. P100 runs FP16 at twice FP32 (no tensor cores). The P4 (FP16 at 1/64 rate)
    # and the K80 (no FP16 units) run half-precision work at their FP32 rate, which is what is
    # recorded for them. A K80 board holds two GPUs; clouds sell (and we list) one GPU, 12 GB.
    _Family("p100", "P100", "NVIDIA", r"P100", ((SXM, 16, _s("Pascal", "HBM2", 732, 21, 300)),
                                                (PCIE, 16, _s("Pascal", "HBM2", 732, 18, 250)),
                                                (PCIE, 12, _s("Pascal", "HBM2", 549, 18, 250))),
            unstated=(16,)),
    _Family("p4", "P4", "NVIDIA", r"P4", ((None, 8, _s("Pascal", "GDDR5", 192, 5, 75)),)),
    _Family("k80", "K80", "NVIDIA", r"K80", ((None, 12, _s("Kepler", "GDDR5", 240, 4, 150)),)),
)


def _variant_slug(family: _Family, form_factor: str | None, memory_gb: int) -> str:
    """``h100-sxm``, ``a100-pcie-40gb``; the family slug alone only for a family of one variant."""
    parts = [family.slug]
    if form_factor:
        parts.append(form_factor.lower())
    sizes = {mem for ff, mem, _ in family.variants if ff == form_factor}
    if len(sizes) > 1 or (len(family.variants) > 1 and not form_factor):
        parts.append(f"{memory_gb}gb")
    return "-".join(parts)


def _unstated_slug(family: _Family, memory_gb: int) -> str:
    return f"{family.slug}-{memory_gb}gb"


def _build() -> tuple[dict[str, CanonicalGpu], dict[str, tuple[CanonicalGpu, ...]], dict[str, tuple[CanonicalGpu, ...]]]:
    by_slug: dict[str, CanonicalGpu] = {}
    by_family: dict[str, tuple[CanonicalGpu, ...]] = {}
    unstated: dict[str, tuple[CanonicalGpu, ...]] = {}
    for fam in _FAMILIES:
        members = []
        for ff, mem, specs in fam.variants:
            gpu = CanonicalGpu(_variant_slug(fam, ff, mem), fam.slug, fam.model, fam.vendor, mem, ff, specs)
            members.append(gpu)
        by_family[fam.slug] = tuple(members)
        unstated[fam.slug] = tuple(
            CanonicalGpu(_unstated_slug(fam, mem), fam.slug, fam.model, fam.vendor, mem, None, None, False)
            for mem in fam.unstated
        )
        for gpu in (*members, *unstated[fam.slug]):
            if gpu.slug in by_slug or (gpu.slug in _FAMILY_SLUGS and gpu.slug != fam.slug):
                raise RuntimeError(f"GPU slug {gpu.slug!r} is not unique")
            if gpu.slug == fam.slug and len(members) > 1:
                raise RuntimeError(f"variant {gpu.name} would share its family's slug {fam.slug!r}")
            by_slug[gpu.slug] = gpu
    return by_slug, by_family, unstated


_FAMILY_SLUGS = frozenset(f.slug for f in _FAMILIES)
GPUS, FAMILIES, UNSTATED = _build()
"""GPUS: every slug an offer can carry (variants and unstated entries). FAMILIES: each family's
variants (the GPU pages, /compare, the sitemap). UNSTATED: each family's unstated entries."""
VARIANTS: dict[str, CanonicalGpu] = {slug: gpu for slug, gpu in GPUS.items() if gpu.form_factor_stated}
_FAMILY_INFO = {f.slug: f for f in _FAMILIES}
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Z0-9])(?:{pattern})(?![A-Z0-9])")


_COMPILED = tuple((f, _compile(f.pattern)) for f in _FAMILIES)
_BARE = {f.slug: _compile(f.bare_name) for f in _FAMILIES if f.bare_name}
_NOISE = re.compile(r"GEFORCE ?|\b(NVIDIA|TESLA|AMD|INSTINCT|GENERATION)\b")
_MEMORY = re.compile(r"(?<![A-Z0-9])(\d{2,3}) ?(?:GB|G|GIB)\b")


def family_name(family_slug: str) -> str:
    return _FAMILY_INFO[family_slug].model


def _clean(text: str) -> str:
    text = text.upper().replace("_", " ").replace("-", " ").replace("/", " ")
    text = re.sub(r"[(),\[\]]", " ", text)
    text = _NOISE.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


def _form_factor(text: str, family: str, memory: int | None) -> str | None:
    if re.search(r"\bSXM\d?\b|\bHGX\b|\bMEGA\b|\bOAM\b", text):
        return SXM
    if re.search(r"\bNVL\b", text):
        return NVL
    if re.search(r"\bPCIE\b|\bPCI E\b", text):
        return PCIE  # before NVLINK: Hyperstack's "H100-80G-PCIe-NVLink" is a PCIe card with a bridge
    if re.search(r"\bNVLINK\b", text):
        return SXM
    if family == "h100":
        if "HBM3" in text:
            return SXM
        if memory is not None and 90 <= memory <= 96:
            return NVL
    if family == "h200":
        return SXM  # H200 without "NVL" is the SXM board
    return None


def _snap_memory(family: _Family, form_factor: str | None, memory: float | None) -> int | None:
    sizes = sorted({mem for ff, mem, _ in family.variants if ff == form_factor})
    if not sizes:
        return None
    if memory is None:
        return sizes[0] if len(sizes) == 1 else None
    best = min(sizes, key=lambda size: abs(size - memory))
    return best if abs(best - memory) <= best * 0.07 else None


@lru_cache(maxsize=4096)
def resolve_gpu(raw_name: str, memory_gb: float | None = None, hint: str = "") -> CanonicalGpu | None:
    """Map a provider's GPU name (plus memory and an optional hint) to the catalog, or None."""
    text = _clean(f"{raw_name} {hint}")
    if memory_gb is None:
        found = _MEMORY.search(text)
        memory_gb = float(found.group(1)) if found else None
    for family, pattern in _COMPILED:
        if not pattern.search(text):
            bare = _BARE.get(family.slug)
            if bare is None or memory_gb is None or not bare.search(text):
                continue
        form_factor = _form_factor(text, family.slug, memory_gb)
        form_factors = {ff for ff, _, _ in family.variants}
        if form_factor is None and len(form_factors) == 1:
            form_factor = next(iter(form_factors))  # B200 is SXM only: nothing to guess
        if form_factor is None and family.unstated:
            # Several form factors and the provider names none: the family's unstated entry.
            sizes = sorted(family.unstated)
            if memory_gb is None:
                return GPUS[_unstated_slug(family, sizes[0])] if len(sizes) == 1 else None
            best = min(sizes, key=lambda size: abs(size - memory_gb))
            if abs(best - memory_gb) > best * 0.07:
                return None
            return GPUS[_unstated_slug(family, best)]
        if form_factor not in form_factors:
            # The family has one form factor only (e.g. L40S "PCIe"): the token adds nothing.
            if all(ff is None for ff, _, _ in family.variants):
                form_factor = None
            else:
                return None
        snapped = _snap_memory(family, form_factor, memory_gb)
        if snapped is None:
            return None
        return GPUS[_variant_slug(family, form_factor, snapped)]
    return None


def gpus_in(slug_or_family: str) -> tuple[CanonicalGpu, ...]:
    """The canonical GPUs a URL slug or filter stands for: a whole family (``h100``: its variants,
    then its unstated entries), one variant, or one unstated entry."""
    slug = slug_or_family.lower()
    if slug in FAMILIES:
        return FAMILIES[slug] + UNSTATED[slug]
    if slug in GPUS:
        return (GPUS[slug],)
    return ()


def same_memory(gpu: CanonicalGpu) -> tuple[CanonicalGpu, ...]:
    """An unstated entry stands for every variant of its memory size ("A100 80GB": SXM, PCIe, unstated)."""
    if gpu.form_factor_stated:
        return (gpu,)
    return (*(g for g in FAMILIES[gpu.family] if g.memory_gb == gpu.memory_gb), gpu)


def dense_tflops(gpu: CanonicalGpu) -> int | None:
    return gpu.specs.fp16_tflops if gpu.specs else None


def power_key(gpu: CanonicalGpu) -> tuple[int, str, int, int, str]:
    """Most powerful first; an unstated entry right after its family's variants."""
    strongest = max(g.specs.fp16_tflops for g in FAMILIES[gpu.family] if g.specs)
    return (-strongest, gpu.family, 0 if gpu.form_factor_stated else 1,
            -(gpu.specs.fp16_tflops if gpu.specs else 0), gpu.slug)


# Superchips carry their own host CPU: a GH200 or GB200 machine runs on Grace (Arm Neoverse V2).
_ARM64_HOST_FAMILIES = frozenset({"gh200", "gb200"})


def host_cpu_arch(gpu: CanonicalGpu | None) -> CpuArch | None:
    """The host CPU architecture the GPU itself implies (a Grace superchip); None otherwise."""
    return CpuArch.ARM64 if gpu is not None and gpu.family in _ARM64_HOST_FAMILIES else None


@lru_cache(maxsize=8192)  # one answer per machine shape: the price reads ask it for every offer
def interconnect(gpu: CanonicalGpu | None, *texts: str) -> str | None:
    """How the GPUs of one machine talk to each other, when the provider's names or the form factor
    say it: NVLink (SXM boards, or "NVLink" named), Infinity Fabric (AMD OAM), PCIe (PCIe cards)."""
    text = _clean(" ".join(texts))
    if re.search(r"\bNVLINK\b|\bNVSWITCH\b", text) or (gpu is not None and gpu.form_factor == SXM):
        return "NVLink"
    if gpu is not None and gpu.vendor == "AMD" and gpu.family.startswith("mi3"):
        return "Infinity Fabric"
    if gpu is not None and gpu.form_factor == PCIE:
        return "PCIe"
    return None


def find_by_name(name: str) -> tuple[CanonicalGpu, ...]:
    """CLI/API friendly lookup: "H100", "h100-sxm", "A100 80GB", "rtx 4090"."""
    direct = gpus_in(name.strip().replace(" ", "-"))
    if len(direct) == 1:
        return same_memory(direct[0])
    if direct:
        return direct
    resolved = resolve_gpu(name)
    if resolved is not None:
        return same_memory(resolved)
    text = _clean(name)
    for family, pattern in _COMPILED:
        if pattern.search(text):
            return FAMILIES[family.slug]
    return ()
