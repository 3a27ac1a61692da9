"""``make bench``: ingest, API and query figures against PostgreSQL, each as a ratio to a baseline;
(e) compares the cheapest offer per GPU with gpuhunt's ``query()`` on 100k and 1M offers;
(f) times one auto-repair pass over 10,000 watched sandbox instances with 1, 2 and 4 worker processes;
(g) ``/`` (cached and not) and ``/api/v1/prices`` (1,000 distinct filters) under 50 connections.

    .venv/bin/python -m tests.benchmarks            # 100k offers
    .venv/bin/python -m tests.benchmarks --quick    # 10k offers, fewer requests
    .venv/bin/python -m tests.benchmarks --only repair   # only (f); --only web: only (g)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
from rich.console import Console
from rich.table import Table

from app.db.engine import make_engine, session_factory
from app.db.types import utcnow
from tests.benchmarks import api, bench_costs, bench_repair, dataset, ingest, queries, vs_gpuhunt, web_load
from tests.benchmarks.database import analyze, bench_url, prepare

console = Console(width=max(Console().width, 132))


@dataclass
class Figure:
    measure: str
    value: str
    baseline: str
    ratio: float | None
    target: str
    met: bool | None


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="10k offers, 500 requests, a repair pass over 2,000 instances: a fast check")
    p.add_argument("--offers", type=int, help="number of offers (default 100000, --quick 10000)")
    p.add_argument("--requests", type=int, help="requests per API load run (default 2000, --quick 500)")
    p.add_argument("--concurrency", type=int, default=10, help="requests in flight (default 10)")
    p.add_argument("--runs", type=int, default=25, help="query runs to take the median of (default 25)")
    p.add_argument("--only", choices=["web", "repair"],
                   help="run only this part: web = (g), the 50-connection load; repair = (f), the P4 repair pass")
    args = p.parse_args(argv)
    args.offers = args.offers or (10_000 if args.quick else 100_000)
    args.requests = args.requests or (500 if args.quick else 2_000)
    return args


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def bench_database(url: str, n: int, runs: int) -> list[Figure]:
    figures = []
    offers = dataset.generate(n)
    repriced, changed = dataset.with_price_changes(offers)
    engine = make_engine(url)
    sessions = session_factory(engine)
    t0 = utcnow() - timedelta(minutes=20)
    try:
        console.print(f"(a) ingesting {len(offers):,} offers from {len(dataset.by_source(offers))} sources ...")
        first = await ingest.ingest_all(sessions, offers, t0)
        again = await ingest.ingest_all(sessions, repriced, t0 + timedelta(minutes=10))
        rows = ingest.copy_rows(repriced, t0)
        copy = min([await ingest.copy_baseline(url, rows) for _ in range(3)])
        copy_indexed = min([await ingest.copy_baseline(url, rows, like_offers=True) for _ in range(3)])
        console.print(f"    first ingest: {first.stats}\n    re-ingest:    {again.stats} ({changed:,} repriced)")
        for label, run in (("first ingest (empty tables)", first), ("re-ingest, ~5% repriced", again)):
            for baseline, seconds in (("COPY", copy), ("COPY+indexes", copy_indexed)):
                ratio = run.seconds / seconds
                figures.append(Figure(f"(a) {label}", f"{run.seconds:.2f} s", f"{baseline} {seconds:.2f} s", ratio,
                                      f"<= 3.0x {baseline}", ratio <= 3.0))

        analyze(url)
        console.print(f"(c) cheapest_per_gpu over {len(offers):,} offers, median of {runs} ...")
        cheapest = await queries.median_seconds(sessions, queries.cheapest, runs)
        count = await queries.median_seconds(sessions, queries.count_all, runs)
        figures.append(Figure("(c) cheapest_per_gpu (median)", ms(cheapest), f"count(*) {ms(count)}",
                              cheapest / count, "informational", None))
    finally:
        await engine.dispose()
    return figures


def bench_api(url: str, requests: int, concurrency: int) -> list[Figure]:
    env = {"COMPUTEHUB_DATABASE_URL": url, "COMPUTEHUB_POLLING": "false", "COMPUTEHUB_LOAD_SNAPSHOT": "false",
           "COMPUTEHUB_EMBEDDED_WORKER": "false", "COMPUTEHUB_SANDBOX": "false"}
    console.print(f"(b) {requests:,} requests per endpoint, {concurrency} in flight, interleaved in 4 rounds ...")
    with api.serve("app.asgi:app", env) as app_base, tempfile.TemporaryDirectory() as tmp:
        probe = httpx.get(f"{app_base}/api/v1/prices", timeout=30)
        if probe.status_code != 200:
            raise RuntimeError(f"GET /api/v1/prices answered HTTP {probe.status_code}: {probe.text[:300]}")
        payload = probe.content
        payload_file = Path(tmp) / "payload.json"
        payload_file.write_bytes(payload)
        with api.serve("tests.benchmarks.bare_app:app", {"BENCH_PAYLOAD": str(payload_file)}) as bare_base:
            loads = asyncio.run(api.interleaved({
                "default": f"{app_base}/api/v1/prices",
                "gpu=h100": f"{app_base}/api/v1/prices?gpu=h100",
                "bare": f"{bare_base}/payload",
            }, requests, concurrency))
    console.print(f"    payload {len(payload):,} bytes, {len(json.loads(payload)['items'])} offers")
    bare = loads.pop("bare")

    figures = []
    for name, run in loads.items():
        ratio = run.throughput / bare.throughput
        errors = f", {run.errors} errors" if run.errors else ""
        figures.append(Figure(f"(b) /api/v1/prices {name}: throughput", f"{run.throughput:,.0f} req/s{errors}",
                              f"bare {bare.throughput:,.0f} req/s", ratio, ">= 0.50x bare", ratio >= 0.5))
        p99 = run.percentile(99)
        figures.append(Figure(f"(b) /api/v1/prices {name}: p99 latency", ms(p99), f"bare {ms(bare.percentile(99))}",
                              p99 / bare.percentile(99), "< 50 ms", p99 < 0.050))
    return figures


def report(figures: list[Figure], args: argparse.Namespace) -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    table = Table(title=f"ComputeHub benchmarks: {args.offers:,} offers, PostgreSQL",
                  caption=f"{os.cpu_count()} CPUs, load average {load} (1/5/15 min): other work on the machine "
                          "moves every figure; the ratios, measured side by side, move less")
    for col, justify in (("measure", "left"), ("value", "right"), ("baseline", "right"), ("ratio", "right"),
                         ("target", "left"), ("met", "left")):
        table.add_column(col, justify=justify)
    for f in figures:
        met = "-" if f.met is None else ("[green]met[/]" if f.met else "[red]NOT met[/]")
        table.add_row(f.measure, f.value, f.baseline, "-" if f.ratio is None else f"{f.ratio:.2f}x", f.target, met)
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    url = bench_url()
    try:
        prepare(url)
    except psycopg.OperationalError as exc:
        console.print(f"[red]PostgreSQL is not reachable[/] ({exc}); set COMPUTEHUB_TEST_DATABASE_URL")
        return 1
    figures: list[Figure] = []
    if args.only:
        figures += bench_web(args) if args.only == "web" else bench_repair_pass(args)
        report(figures, args)
        return 0
    figures += asyncio.run(bench_database(url, args.offers, args.runs))
    try:
        figures += bench_api(url, args.requests, args.concurrency)
    except RuntimeError as exc:  # e.g. the endpoint is not there yet: still print the rest
        console.print(f"[red](b) skipped[/]: {exc}")
    try:  # (d) the cost page over 1M cost records (100k with --quick)
        records = 100_000 if args.quick else 1_000_000
        figures += [Figure(**f) for f in asyncio.run(bench_costs.measure(url, records, args.runs, log=console.print))]
    except RuntimeError as exc:
        console.print(f"[red](d) skipped[/]: {exc}")
    try:  # (e) cheapest offer per GPU vs gpuhunt's query() on the same catalogs (bench-only dependency)
        sizes = (10_000, 100_000) if args.quick else vs_gpuhunt.SIZES
        figures += [Figure(**f) for f in asyncio.run(vs_gpuhunt.measure(url, sizes, args.runs, log=console.print))]
    except RuntimeError as exc:
        console.print(f"[red](e) skipped[/]: {exc}")
    figures += bench_repair_pass(args)
    figures += bench_web(args)
    report(figures, args)
    return 0


def bench_repair_pass(args: argparse.Namespace) -> list[Figure]:
    """(f) one auto-repair pass with 1, 2 and 4 worker processes (its own database)."""
    try:
        size, workers = (bench_repair.QUICK_SIZE, [1, 2]) if args.quick else (bench_repair.FULL_SIZE, [1, 2, 4])
        runs = bench_repair.measure(bench_url(bench_repair.BENCH_DB), size, workers, bench_repair.CONCURRENCY,
                                    log=console.print)
        return [Figure(**f) for f in bench_repair.figures(runs)]
    except RuntimeError as exc:
        console.print(f"[red](f) skipped[/]: {exc}")
        return []


def bench_web(args: argparse.Namespace) -> list[Figure]:
    """(g) / and /api/v1/prices under 50 connections, on a database of its own."""
    try:
        page_requests, distinct = (500, 300) if args.quick else (2_000, web_load.DISTINCT_QUERIES)
        return [Figure(**f) for f in web_load.measure(args.offers, page_requests, distinct, log=console.print)]
    except (RuntimeError, psycopg.OperationalError) as exc:
        console.print(f"[red](g) skipped[/]: {exc}")
        return []


if __name__ == "__main__":
    sys.exit(main())
