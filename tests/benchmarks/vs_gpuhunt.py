"""(e) The cheapest offer per GPU over 100,000 and 1,000,000 offers spread over every registered
source, side by side with gpuhunt's ``Catalog.query()`` over the same catalog, in one run.
Target (issue 16): ours takes at most 1/20 of gpuhunt's time.

Ours: ``app.services.prices.cheapest_price_per_gpu`` on PostgreSQL (a loose index scan; the offers
table filled with the catalog by COPY, then VACUUM ANALYZE); ``cheapest_per_gpu``, which also counts
the offers of every GPU and so reads every row, is reported beside it for information.
gpuhunt: the same offers as ``gpuhunt.CatalogItem``s, held
in memory by providers added with ``Catalog.add_provider`` (its public API; nothing downloaded),
``query(spot=False)`` over all of them, then the cheapest $/GPU-hour per GPU taken from its answer.
Both answers are checked to agree before any time is reported. gpuhunt is a bench-only dependency:
without it this part is skipped with a message.

    .venv/bin/python -m tests.benchmarks.vs_gpuhunt               # 100k and 1M, its own database
    .venv/bin/python -m tests.benchmarks.vs_gpuhunt --sizes 10000
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import psycopg
from sqlalchemy.engine import make_url

from app.db.engine import make_engine, session_factory
from app.db.types import utcnow
from app.services.prices import cheapest_per_gpu, cheapest_price_per_gpu
from providers.base import Offer
from providers.gpus import resolve_gpu
from providers.registry import SOURCES
from tests.benchmarks import dataset
from tests.benchmarks.database import analyze, bench_url, dsn, prepare
from tests.benchmarks.ingest import COPY_COLUMNS, copy_rows

SIZES = (100_000, 1_000_000)
TARGET_RATIO = 1 / 20
PER_GPU = Decimal("0.000001")


def every_source_weights() -> dict[str, int]:
    """Marketplaces list far more machines than clouds do; every registered source has a share."""
    return {name: dataset.SOURCE_WEIGHTS.get(name, 2) for name in sorted(SOURCES)}


def _gpuhunt():
    try:
        import gpuhunt
        from gpuhunt._internal import catalog as gh_catalog
    except ImportError as exc:
        raise RuntimeError("gpuhunt is not installed (a bench-only dependency: pip install gpuhunt)") from exc
    try:
        from gpuhunt.providers.base import AbstractProvider
    except ImportError:  # older releases kept it in the package's __init__
        from gpuhunt.providers import AbstractProvider
    return gpuhunt, gh_catalog, AbstractProvider


def gpuhunt_catalog(offers: list[Offer]):
    """The same offers as a gpuhunt catalog, spread over gpuhunt's own provider names (its query
    keeps only items whose ``provider`` it knows); each item keeps our source in ``provider_data``."""
    gpuhunt, gh_catalog, AbstractProvider = _gpuhunt()
    names = list(gh_catalog.ONLINE_PROVIDERS)
    buckets: dict[str, list] = {name: [] for name in names}
    for i, offer in enumerate(offers):
        gpu = resolve_gpu(offer.gpu_raw_name, offer.gpu_memory_gb, offer.gpu_hint)
        name = names[i % len(names)]
        buckets[name].append(gpuhunt.CatalogItem(
            provider=name, provider_data={"source": offer.source}, instance_name=offer.instance_type,
            location=offer.region,
            price=float(offer.price_per_hour), cpu=offer.vcpus or 0, memory=float(offer.ram_gb or 0),
            gpu_count=int(offer.gpu_count), gpu_name=gpu.slug if gpu else None,
            gpu_memory=float(offer.gpu_memory_gb or 0), spot=offer.spot, disk_size=offer.disk_gb,
            gpu_vendor=_vendor(gpuhunt, gpu.vendor if gpu else "nvidia"),
        ))

    class Listed(AbstractProvider):
        def __init__(self, name: str, items: list) -> None:
            self.NAME = name
            self.items = sorted(items, key=lambda item: item.price)  # providers answer by price

        def get(self, query_filter=None, balance_resources=True, apply_filter=False):
            return self.items

    catalog = gpuhunt.Catalog(balance_resources=False, auto_reload=False)
    for name, items in buckets.items():
        catalog.add_provider(Listed(name, items))
    return catalog, names


def _vendor(gpuhunt, name: str):
    try:
        return gpuhunt.AcceleratorVendor.cast(name.lower())
    except (ValueError, KeyError):
        return gpuhunt.AcceleratorVendor.NVIDIA


def gpuhunt_cheapest(catalog, names: list[str]) -> dict[str, Decimal]:
    best: dict[str, float] = {}
    for item in catalog.query(provider=names, spot=False):
        if item.gpu_name is None or not item.gpu_count:
            continue
        per_gpu = item.price / item.gpu_count
        if item.gpu_name not in best or per_gpu < best[item.gpu_name]:
            best[item.gpu_name] = per_gpu
    return {slug: Decimal(str(price)).quantize(PER_GPU) for slug, price in best.items()}


async def load_offers(url: str, offers: list[Offer]) -> None:
    """Replace the offers table's content with ``offers`` (COPY: this part times queries, not ingest)."""
    rows = copy_rows(offers, utcnow() - timedelta(minutes=5))
    async with await psycopg.AsyncConnection.connect(dsn(url)) as conn:
        await conn.execute("TRUNCATE offers, price_history RESTART IDENTITY")
        async with conn.cursor() as cur:
            async with cur.copy(f"COPY offers ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    await copy.write_row(row)
        await conn.commit()
    analyze(url)


async def _median_async(session, query, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await query(session)
        times.append(time.perf_counter() - started)
        await session.rollback()
    return statistics.median(times)


def _median(run: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def measure(url: str, sizes=SIZES, runs: int = 25, gpuhunt_runs: int = 5, *, log=print) -> list[dict]:
    """Figures (dicts with measure, value, baseline, ratio, target, met) for each catalog size,
    on the already migrated database at ``url``."""
    _gpuhunt()  # fail fast, before minutes of loading, when gpuhunt is missing
    logging.getLogger("gpuhunt").setLevel(logging.ERROR)
    figures = []
    for size in sizes:
        offers = dataset.generate(size, weights=every_source_weights())
        log(f"(e) {size:,} offers from {len(dataset.by_source(offers))} sources: loading, and building "
            "the gpuhunt catalog ...")
        await load_offers(url, offers)
        catalog, names = gpuhunt_catalog(offers)

        engine = make_engine(url)
        sessions = session_factory(engine)
        try:
            async with sessions() as session:
                ours_answer = await cheapest_price_per_gpu(session)
                with_counts = {slug: price for slug, (price, _n) in (await cheapest_per_gpu(session)).items()}
                if with_counts != ours_answer:
                    raise RuntimeError("cheapest_price_per_gpu and cheapest_per_gpu disagree")
                ours = await _median_async(session, cheapest_price_per_gpu, runs)
                counted = await _median_async(session, cheapest_per_gpu, runs)
        finally:
            await engine.dispose()
        theirs_answer = gpuhunt_cheapest(catalog, names)
        if theirs_answer != ours_answer:
            differ = sorted(k for k in ours_answer.keys() | theirs_answer.keys()
                            if ours_answer.get(k) != theirs_answer.get(k))
            raise RuntimeError(f"the two answers differ for {differ[:5]}: not comparable")
        theirs = _median(lambda: gpuhunt_cheapest(catalog, names), gpuhunt_runs)
        ratio = ours / theirs
        figures.append(dict(
            measure=f"(e) cheapest offer per GPU, {size:,} offers, {len(ours_answer)} GPUs",
            value=_ms(ours), baseline=f"gpuhunt query() {_ms(theirs)}", ratio=ratio,
            target="<= 0.05x gpuhunt" if size in SIZES else "informational (target at 100k, 1M)",
            met=ratio <= TARGET_RATIO if size in SIZES else None,
        ))
        figures.append(dict(
            measure=f"(e) ... with offer counts per GPU (cheapest_per_gpu), {size:,} offers",
            value=_ms(counted), baseline=f"gpuhunt query() {_ms(theirs)}", ratio=counted / theirs,
            target="informational", met=None,
        ))
        log(f"    ours {_ms(ours)}, with counts {_ms(counted)} (medians of {runs}); gpuhunt {_ms(theirs)} "
            f"(median of {gpuhunt_runs}): {ratio:.4f}x")
    return figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks.vs_gpuhunt", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    p.add_argument("--runs", type=int, default=25)
    p.add_argument("--database",
                   help="PostgreSQL database to (re)build on the bench server (default computehub_bench)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    url = bench_url()
    if args.database:
        url = make_url(url).set(database=args.database).render_as_string(hide_password=False)
    prepare(url)
    try:
        figures = asyncio.run(measure(url, args.sizes, args.runs))
    except RuntimeError as exc:
        print(f"(e) skipped: {exc}")
        return 1
    for f in figures:
        met = "-" if f["met"] is None else ("met" if f["met"] else "NOT met")
        print(f"{f['measure']}: {f['value']} vs {f['baseline']} = {f['ratio']:.4f}x ({met}, target {f['target']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
