"""(d) ``/costs`` for a user with 1,000,000 cost records (plus other users' records as noise), on
PostgreSQL: the server-side time of a full page (routing, session, SQL, pandas, plotly, template),
in-process through Litestar's test client, median of several runs. Target: under 300 ms.

Baselines measured in the same run: ``SELECT count(*) FROM cost_records`` (one scan of the table)
and ``GET /healthz`` through the same client (the framework's floor).

    .venv/bin/python -m tests.benchmarks.bench_costs              # 1M records, its own database
    .venv/bin/python -m tests.benchmarks.bench_costs --records 100000

``make bench`` runs it after the price benchmarks (``measure``), on the same database.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import psycopg
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from app.auth import service as accounts
from app.costs.accrual import PERIOD, period_floor
from app.workspaces.scope import personal_workspace_id
from app.db.engine import make_engine, session_factory
from app.server import create_app
from app.settings import DatabaseSettings, PollingSettings, SandboxSettings, Settings
from tests.benchmarks.database import analyze, bench_url, dsn, prepare

TARGET_SECONDS = 0.300
PASSWORD = "benchmark password 1"
EMAIL = "heavy@bench.local"
PROVIDERS = ("lambdalabs", "runpod", "vastai", "hyperstack", "sandbox")
GPUS = (("h100-sxm", "2.49"), ("a100-sxm-80gb", "1.29"), ("l40s", "0.99"), ("rtx-4090", "0.44"),
        ("h200-sxm", "3.79"), ("a10", "0.75"))
HEAVY_INSTANCES = 30
"""About 30 instances running all year make 1M quarter-hours: the last 30 days alone hold ~86k."""
NOISE_USERS, NOISE_RECORDS = 20, 10_000


def _instance_rows(user_id: int, count: int, first_id: int, now: datetime) -> list[tuple]:
    rows = []
    for i in range(count):
        slug, price = GPUS[i % len(GPUS)]
        rows.append((first_id + i, user_id, PROVIDERS[i % len(PROVIDERS)], f"bench-{user_id}-{i}", f"job-{i:03d}",
                     f"type-{slug}", "region-1", slug, Decimal(price), "running" if i % 3 else "stopped",
                     now - timedelta(days=400), now))
    return rows


def _cost_rows(instances: list[tuple], records: int, now: datetime):
    """``records`` quarter-hours spread over ``instances``, each running back from now without a gap."""
    per_instance, extra = divmod(records, len(instances))
    latest = period_floor(now) - PERIOD
    for n, (iid, user_id, provider, _, _, _, _, slug, price, *_rest) in enumerate(instances):
        amount = price / 4
        for k in range(per_instance + (1 if n < extra else 0)):
            yield iid, user_id, provider, slug, latest - k * PERIOD, 900, price, amount


async def seed(url: str, records: int, now: datetime) -> int:
    """The heavy user (with a password, to log in) and the noise users, written with COPY."""
    engine = make_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            user = await accounts.signup(session, EMAIL, "Heavy User", PASSWORD)
            user.timezone = "Europe/Berlin"  # local days: the bucketing by DST-aware bounds is part of the work
            heavy = user.id
            noise = []
            for n in range(NOISE_USERS):
                noise.append((await accounts.signup(session, f"noise{n}@bench.local", f"Noise {n}", PASSWORD)).id)
            # every console row belongs to a workspace (migration 0016): each user's personal one
            homes = {user_id: await personal_workspace_id(session, user_id) for user_id in (heavy, *noise)}
    finally:
        await engine.dispose()

    instances = {heavy: _instance_rows(heavy, HEAVY_INSTANCES, 1, now)}
    next_id = HEAVY_INSTANCES + 1
    for user_id in noise:
        instances[user_id] = _instance_rows(user_id, 3, next_id, now)
        next_id += 3
    async with await psycopg.AsyncConnection.connect(dsn(url)) as conn:
        async with conn.cursor() as cur:
            async with cur.copy("COPY instances (id, user_id, provider, client_token, name, instance_type, region, "
                                "gpu_slug, offer_price_per_hour, status, created_at, updated_at, gpu_raw_name, "
                                "gpu_count, image, ssh_public_key, spot, raw_status, origin, auto_repair, "
                                "repair_state, repair_attempts, workspace_id) FROM STDIN") as copy:
                for rows in instances.values():
                    for row in rows:
                        await copy.write_row((*row, "", 1, "", "", False, "", "computehub", False, "ok", 0,
                                              homes[row[1]]))
            async with cur.copy("COPY instance_events (instance_id, status, raw_status, price_per_hour, at) "
                                "FROM STDIN") as copy:
                for rows in instances.values():
                    for row in rows:
                        await copy.write_row((row[0], row[9], "", row[8], now - timedelta(days=400)))
            async with cur.copy("COPY cost_records (instance_id, user_id, provider, gpu_slug, period_start, "
                                "billable_seconds, price_per_hour, amount, workspace_id) FROM STDIN") as copy:
                for user_id, rows in instances.items():
                    for record in _cost_rows(rows, records if user_id == heavy else NOISE_RECORDS, now):
                        await copy.write_row((*record, homes[user_id]))
            await cur.execute("SELECT setval('instances_id_seq', (SELECT max(id) FROM instances))")
        await conn.commit()
    analyze(url)
    return heavy


async def _median(run: Callable[[], Awaitable[None]], runs: int) -> float:
    await run()  # warm-up: connections, plans, template compilation
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def measure(url: str, records: int = 1_000_000, runs: int = 15, *, log=print) -> list[dict]:
    """Seed (into the already migrated database at ``url``), then time the pages. Returns figures
    as dicts with measure, value, baseline, ratio, target, met."""
    now = datetime.now(timezone.utc)
    log(f"(d) seeding {records:,} cost records for one user, {NOISE_USERS * NOISE_RECORDS:,} for {NOISE_USERS} others ...")
    started = time.perf_counter()
    await seed(url, records, now)
    log(f"    seeded in {time.perf_counter() - started:.1f} s; timing /costs, median of {runs} ...")

    engine = make_engine(url)
    settings = Settings(database=DatabaseSettings(url=url), polling=PollingSettings(enabled=False, load_snapshot=False),
                        sandbox=SandboxSettings(enabled=True, demo_account=False))
    app = create_app(settings, engine=engine, run_worker=False)
    figures = []
    try:
        async with AsyncTestClient(app=app) as client:
            await client.get("/login")
            login = await client.post("/login", data={"email": EMAIL, "password": PASSWORD},
                                      headers={"x-csrftoken": client.cookies["computehub_csrf"]})
            if login.status_code != 200 or login.url.path != "/console":
                raise RuntimeError(f"login failed: HTTP {login.status_code}")

            def get(path: str) -> Callable[[], Awaitable[None]]:
                async def run() -> None:
                    response = await client.get(path)
                    if response.status_code != 200:
                        raise RuntimeError(f"GET {path}: HTTP {response.status_code} {response.text[:200]}")
                return run

            async def count_records() -> None:
                async with engine.connect() as conn:
                    (await conn.execute(text("SELECT count(*) FROM cost_records"))).scalar_one()

            count = await _median(count_records, runs)
            healthz = await _median(get("/healthz"), runs)
            for label, path in (("/costs (default: last 30 days)", "/costs"),
                                ("/costs?provider=runpod", "/costs?provider=runpod"),
                                ("/costs, a whole year", f"/costs?from={(now - timedelta(days=365)).date()}"),
                                ("/costs/export.csv (30 days)", "/costs/export.csv"),
                                ("/console/overview", "/console/overview")):
                seconds = await _median(get(path), runs)
                met = seconds < TARGET_SECONDS if path == "/costs" else None
                figures.append(dict(measure=f"(d) {label}, {records:,} records", value=_ms(seconds),
                                    baseline=f"count(*) {_ms(count)}", ratio=seconds / count,
                                    target="< 300 ms" if met is not None else "informational", met=met))
            figures.append(dict(measure="(d) GET /healthz, same client (framework floor)", value=_ms(healthz),
                                baseline=f"count(*) {_ms(count)}", ratio=healthz / count, target="informational",
                                met=None))
    finally:
        await engine.dispose()
    return figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_costs", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--records", type=int, default=1_000_000, help="cost records of the heavy user (default 1M)")
    p.add_argument("--runs", type=int, default=15, help="runs to take the median of (default 15)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    url = bench_url()
    try:
        prepare(url)
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL is not reachable ({exc}); set COMPUTEHUB_TEST_DATABASE_URL")
        return 1
    figures = asyncio.run(measure(url, args.records, args.runs))
    width = max(len(f["measure"]) for f in figures)
    for f in figures:
        met = "" if f["met"] is None else ("  met" if f["met"] else "  NOT met")
        print(f"{f['measure']:<{width}}  {f['value']:>10}  vs {f['baseline']:<18} {f['ratio']:6.2f}x  {f['target']}{met}")
    return 0 if all(f["met"] is not False for f in figures) else 2


if __name__ == "__main__":
    sys.exit(main())
