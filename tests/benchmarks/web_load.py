"""(g) ``/`` and ``/api/v1/prices`` under 50 concurrent connections vs bare Litestar, same run.

The app is a real uvicorn process on PostgreSQL (database ``computehub_bench_web``, its own: other
benchmarks rebuild ``computehub_bench``); the baseline is the bare Litestar app of bare_app.py
serving the same bytes (the dashboard's brotli-compressed HTML for ``/``, an API answer for the
API), so the ratio
leaves out what the load generator and the machine cost both alike. Runs alternate in rounds
between the measured URL set and the baseline, so a change of machine load hits both.

- ``/`` cached: a visitor's dashboard, served from the response cache (target p99 < 100 ms).
- ``/`` uncached: the same with ``COMPUTEHUB_RESPONSE_CACHE=off`` (what every request cost before).
- ``/api/v1/prices``: 1,000 distinct filter queries (300 with --quick), each asked once (every
  one a cache miss, rendered on PostgreSQL), target >= 30 % of bare throughput.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
from sqlalchemy.engine import make_url

from app.db.engine import make_engine, session_factory
from app.db.types import utcnow
from tests.benchmarks import api, dataset, ingest
from tests.benchmarks.api import Load
from tests.benchmarks.database import analyze, bench_url, prepare

BENCH_DB = "computehub_bench_web"
CONCURRENCY = 50
DISTINCT_QUERIES = 1_000


def web_bench_url() -> str:
    return make_url(bench_url()).set(database=BENCH_DB).render_as_string(hide_password=False)


def filter_queries(count: int = DISTINCT_QUERIES, seed: int = 12) -> list[str]:
    """``count`` distinct, valid /api/v1/prices query strings, in a fixed random order."""
    rng = random.Random(seed)
    gpus = [None, "h100", "a100", "h200", "l40s", "rtx-4090", "mi300x", "l4", "a10", "h100-sxm"]
    prices = [None, "0.5", "1", "2", "3", "5"]
    memories = [None, "24", "48", "80"]
    sorts = ["price", "-price", "gpu", "provider", "instance_price", "updated"]
    providers = [None, "runpod", "vastai", "aws,azure", "lambdalabs"]
    spots = [None, "true", "false"]
    combos = list(itertools.product(gpus, prices, memories, sorts, providers, spots))
    rng.shuffle(combos)
    queries = []
    for gpu, price, memory, sort, provider, spot in combos[:count]:
        params = {"gpu": gpu, "max_price": price, "min_memory": memory, "sort": sort, "provider": provider,
                  "spot": spot, "per_page": "50"}
        queries.append(urlencode({k: v for k, v in params.items() if v is not None}))
    return queries


class Connection:
    """One kept-alive HTTP/1.1 connection that sends a GET and reads the whole answer, as a browser
    asking for a compressed page would (``Accept-Encoding: br, gzip``), without decoding the body.
    A plain client: httpx spent more CPU per request than the servers measured here."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, base: str) -> Connection:
        parts = urlsplit(base)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        return cls(reader, writer, parts.netloc)

    async def get(self, target: str) -> int:
        self.writer.write(f"GET {target} HTTP/1.1\r\nHost: {self.host}\r\nAccept-Encoding: br, gzip\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        headers = dict(line.split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line)
        headers = {name.strip().lower(): value.strip() for name, value in headers.items()}
        if b"content-length" in headers:
            await self.reader.readexactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding") == b"chunked":
            while size := int((await self.reader.readuntil(b"\r\n")).strip(), 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readuntil(b"\r\n")
        return status

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def load_many(urls: list[str], concurrency: int) -> Load:
    """Every URL once, over ``concurrency`` kept-alive connections (one request in flight each)."""
    pending = iter(urls)
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        connection = None
        for url in pending:
            parts = urlsplit(url)
            started = time.perf_counter()
            try:
                connection = connection or await Connection.open(f"{parts.scheme}://{parts.netloc}")
                ok = await connection.get(parts.path + (f"?{parts.query}" if parts.query else "")) == 200
            except (OSError, asyncio.IncompleteReadError, ValueError):
                ok, connection = False, None
            latencies.append(time.perf_counter() - started)
            errors += not ok
        if connection is not None:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Load(len(urls), errors, time.perf_counter() - started, latencies)


async def side_by_side(measured: list[str], bare: list[str], rounds: int) -> tuple[Load, Load]:
    """Alternate rounds: a slice of ``measured``, then as many bare requests."""
    runs: dict[str, list[Load]] = {"measured": [], "bare": []}
    size = max(1, len(measured) // rounds)
    for start in range(0, len(measured), size):
        chunk = measured[start:start + size]
        runs["measured"].append(await load_many(chunk, CONCURRENCY))
        runs["bare"].append(await load_many(bare[:len(chunk)], CONCURRENCY))
    return Load.merged(runs["measured"]), Load.merged(runs["bare"])


async def seed(url: str, offers: int) -> None:
    engine = make_engine(url)
    try:
        await ingest.ingest_all(session_factory(engine), dataset.generate(offers), utcnow() - timedelta(minutes=5))
    finally:
        await engine.dispose()


def app_env(url: str, cache: str) -> dict[str, str]:
    return {"COMPUTEHUB_DATABASE_URL": url, "COMPUTEHUB_POLLING": "false", "COMPUTEHUB_LOAD_SNAPSHOT": "false",
            "COMPUTEHUB_EMBEDDED_WORKER": "false", "COMPUTEHUB_SANDBOX": "false",
            "COMPUTEHUB_RESPONSE_CACHE": cache}


def measure(offers: int, requests: int, distinct: int = DISTINCT_QUERIES, log: Callable[[str], None] = print) -> list[dict]:
    """``requests`` per run of ``/`` (a tenth of them uncached), ``distinct`` API filter queries."""
    url = web_bench_url()
    prepare(url)
    log(f"(g) {offers:,} offers in {BENCH_DB}; {CONCURRENCY} connections; {requests:,} requests per / run, "
        f"{distinct:,} distinct API queries ...")
    asyncio.run(seed(url, offers))
    analyze(url)
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        with api.serve("app.asgi:app", app_env(url, "memory")) as cached, \
                api.serve("app.asgi:app", app_env(url, "off")) as uncached:
            with httpx.stream("GET", f"{cached}/", headers={"Accept-Encoding": "br"}, timeout=60) as page:
                page_wire = b"".join(page.iter_raw())  # the bytes a browser gets: the bare server sends the same
            payload = httpx.get(f"{uncached}/api/v1/prices?per_page=50", timeout=60)
            for response in (page, payload):
                if response.status_code != 200:
                    raise RuntimeError(f"{response.url} answered HTTP {response.status_code}")
            (Path(tmp) / "page.html.br").write_bytes(page_wire)
            (Path(tmp) / "payload.json").write_bytes(payload.content)
            bare_env = {"BENCH_PAYLOAD": str(Path(tmp) / "payload.json"), "BENCH_PAGE": str(Path(tmp) / "page.html.br"),
                        "BENCH_PAGE_ENCODING": page.headers.get("content-encoding", "")}
            with api.serve("tests.benchmarks.bare_app:app", bare_env) as bare:
                bare_page, bare_api = [f"{bare}/page"] * requests, [f"{bare}/payload"] * distinct
                asyncio.run(load_many([f"{cached}/"] * 100 + bare_page[:100], CONCURRENCY))  # warm both up
                runs = {
                    "/ cached": asyncio.run(side_by_side([f"{cached}/"] * requests, bare_page, rounds=4)),
                    "/ uncached (cache off)": asyncio.run(side_by_side(
                        [f"{uncached}/"] * max(100, requests // 10), bare_page, rounds=2)),
                    f"/api/v1/prices, {distinct:,} distinct filters": asyncio.run(side_by_side(
                        [f"{cached}/api/v1/prices?{q}" for q in filter_queries(distinct)], bare_api, rounds=4)),
                }
    log(f"    / is {len(page_wire):,} bytes ({page.headers.get('content-encoding', 'plain')}); "
        f"the API answer {len(payload.content):,} bytes")
    for name, (run, base) in runs.items():
        ratio = run.throughput / base.throughput
        errors = f", {run.errors} errors" if run.errors else ""
        api_run = name.startswith("/api")
        figures.append(dict(measure=f"(g) {name}: throughput", value=f"{run.throughput:,.0f} req/s{errors}",
                            baseline=f"bare {base.throughput:,.0f} req/s", ratio=ratio,
                            target=">= 0.30x bare" if api_run else "informational",
                            met=ratio >= 0.30 if api_run else None))
        p99 = run.percentile(99)
        cached_page = name == "/ cached"
        figures.append(dict(measure=f"(g) {name}: p99 latency", value=f"{p99 * 1000:.1f} ms",
                            baseline=f"bare {base.percentile(99) * 1000:.1f} ms", ratio=p99 / base.percentile(99),
                            target="< 100 ms" if cached_page else "informational",
                            met=p99 < 0.100 if cached_page else None))
    return figures
