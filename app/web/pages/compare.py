"""``/compare``: specs and prices of a few GPUs side by side, best value per row highlighted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from litestar import Request, Response, get
from litestar.datastructures import MultiDict
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.services.prices import InvalidQuery
from app.web.form_state import build_with_form
from app.web.formatting import money, money_fine
from app.web.page_cache import cached_page
from app.web.pages.common import PageMeta, render, simulated_shown
from app.web.queries import GpuMarket, market_by_gpu
from providers.gpus import VARIANTS, CanonicalGpu, gpus_in, same_memory

DEFAULT_COUNT = 8
MAX_COUNT = 12


@dataclass(frozen=True)
class CompareCell:
    text: str
    best: bool
    note: str = ""
    """What the figure is (a price's basis: GPU only, smallest VM, instance), shown beside it."""


@dataclass(frozen=True)
class CompareRow:
    label: str
    cells: list[CompareCell]
    hint: str = ""


@dataclass(frozen=True)
class Comparison:
    gpus: list[CanonicalGpu]
    rows: list[CompareRow]
    choices: list[CanonicalGpu]
    """GPUs with offers, for the picker form."""


def by_power(gpus: Sequence[CanonicalGpu]) -> list[CanonicalGpu]:
    return sorted(gpus, key=lambda gpu: (-gpu.specs.fp16_tflops, -gpu.memory_gb, gpu.slug))


def _on_offer(markets: dict[str, GpuMarket]) -> list[CanonicalGpu]:
    """Variants with offers. An unstated entry ("H100 80GB", form factor not stated) has no specs
    to compare: it is never a column of its own."""
    return by_power([VARIANTS[slug] for slug in markets if slug in VARIANTS])


def selected_gpus(requested: Sequence[str], markets: dict[str, GpuMarket]) -> list[CanonicalGpu]:
    """The requested variants (a family stands for its variants with offers), else the top GPUs on offer."""
    if not requested:
        return _on_offer(markets)[:DEFAULT_COUNT]
    chosen: dict[str, CanonicalGpu] = {}
    for slug in requested:
        found = gpus_in(slug.strip())
        if not found:
            raise InvalidQuery(f"unknown GPU {slug!r}", "gpu")
        # an unstated entry stands for its family's variants of that memory size
        gpus = list(dict.fromkeys(g for gpu in found for g in same_memory(gpu) if g.form_factor_stated))
        on_offer = [gpu for gpu in gpus if gpu.slug in markets]
        for gpu in on_offer if len(gpus) > 1 and on_offer else gpus:
            chosen.setdefault(gpu.slug, gpu)
    if len(chosen) > MAX_COUNT:
        raise InvalidQuery(f"gpu: compare at most {MAX_COUNT} GPUs at a time", "gpu")
    return list(chosen.values())


def _per_tflop(gpu: CanonicalGpu, market: GpuMarket | None) -> Decimal | None:
    if market is None or market.on_demand is None:
        return None
    return market.on_demand / gpu.specs.fp16_tflops


# (label, value getter, display, which value is best: "high", "low" or None, hint)
_ROWS: list[tuple[str, Callable, Callable, str | None, str]] = [
    ("Architecture", lambda g, m: g.specs.architecture, str, None, ""),
    ("Memory", lambda g, m: g.memory_gb, lambda v: f"{v} GB", "high", ""),
    ("Memory type", lambda g, m: g.specs.memory_type, str, None, ""),
    ("Memory bandwidth", lambda g, m: g.specs.bandwidth_gbps, lambda v: f"{v:,} GB/s", "high", ""),
    ("FP16 tensor TFLOPS", lambda g, m: g.specs.fp16_tflops, lambda v: f"{v:,}", "high", "dense, vendor figure"),
    ("TDP", lambda g, m: g.specs.tdp_watts, lambda v: f"{v:,} W", "low", ""),
    ("On-demand from", lambda g, m: m.on_demand if m else None, money, "low", "$ per GPU-hour"),
    ("Spot from", lambda g, m: m.spot if m else None, money, "low", "$ per GPU-hour"),
    ("$ per TFLOP-hour", _per_tflop, money_fine, "low", "on-demand price ÷ FP16 TFLOPS"),
]


# The rows whose figure is a "from" price: each cell names the basis of the offer it came from.
_BASIS_OF_ROW = {"On-demand from": False, "Spot from": True, "$ per TFLOP-hour": False}


def _note(label: str, value, market: GpuMarket | None) -> str:
    if value is None or market is None or label not in _BASIS_OF_ROW:
        return ""
    return market.basis_of(_BASIS_OF_ROW[label])[0]


def compare_rows(gpus: list[CanonicalGpu], markets: dict[str, GpuMarket]) -> list[CompareRow]:
    rows = []
    for label, value_of, show, better, hint in _ROWS:
        values = [value_of(gpu, markets.get(gpu.slug)) for gpu in gpus]
        present = [v for v in values if v is not None]
        # Highlight only a real winner: not when every GPU has the same value.
        best = None
        if better and len(set(present)) > 1:
            best = max(present) if better == "high" else min(present)
        cells = [CompareCell("–" if v is None else show(v), v is not None and v == best,
                             _note(label, v, markets.get(gpu.slug))) for gpu, v in zip(gpus, values)]
        rows.append(CompareRow(label, cells, hint))
    return rows


async def build_comparison(session: AsyncSession, requested: Sequence[str], simulated: bool = False) -> Comparison:
    markets = await market_by_gpu(session, simulated=simulated)
    gpus = selected_gpus(requested, markets)
    return Comparison(gpus, compare_rows(gpus, markets), _on_offer(markets))


def compare_meta(view: Comparison, requested: Sequence[str]) -> PageMeta:
    names = ", ".join(gpu.name for gpu in view.gpus[:4]) + (" and more" if len(view.gpus) > 4 else "")
    return PageMeta(
        title=f"Compare {names or 'GPUs'}: specs and cloud prices · ComputeHub",
        description=(
            f"Side-by-side specs (memory, bandwidth, FP16 TFLOPS, TDP) and the cheapest on-demand and spot "
            f"cloud prices for {names or 'data-center GPUs'}, with $ per TFLOP-hour."
        ),
        path="/compare",
        noindex=bool(requested),
    )


def requested_slugs(params: MultiDict) -> list[str]:
    return [slug for slug in params.getall("gpu", []) if slug.strip()]


@get("/compare", permission="public", name="compare", include_in_schema=False)
async def compare(request: Request, db: NamedDependency[AsyncSession]) -> Template | Response:
    async def page(session: AsyncSession) -> Template:
        async def build(params: MultiDict) -> Comparison:
            return await build_comparison(session, requested_slugs(params), simulated_shown(request))

        view, form = await build_with_form(build, request.query_params)
        meta = compare_meta(view, requested_slugs(request.query_params))
        return render(request, "compare.html", meta, status=form.status, view=view, fields=form)

    return await cached_page(request, db, page)
