"""(P4) One check-and-repair pass over 10,000 watched sandbox instances, with 1, 2 and 4 worker
processes (``computehub worker``) sharing the PostgreSQL job queue.

Seeded on PostgreSQL: 100 Pro accounts, each with one sandbox key and 100 running instances with
auto-repair on (app rows and the sandbox's own tables, as the console would leave them). Each run
queues one ``repair:check_instance`` job per instance (what the repair fan-out does) and times the
workers until the queue holds none, sampling each worker's RSS. The scaling ratio is t(1)/t(N),
measured in the same run. Targets: under 30 s with 2 workers; under 300 MB RSS per worker.

    .venv/bin/python -m tests.benchmarks.bench_repair                  # 10,000 instances
    .venv/bin/python -m tests.benchmarks.bench_repair --instances 2000 --workers 1 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import psycopg

from app.console import bindings
from app.db.engine import make_engine, session_factory
from app.db.models import Instance, Subscription, User
from app.db.types import utcnow
from app.security.keyring import Keyring, generate_key_spec
from providers.sandbox import generate_api_key
from tests.benchmarks.database import bench_url, dsn, prepare

ROOT = Path(__file__).resolve().parents[2]
TARGET_SECONDS_2_WORKERS = 30.0
TARGET_RSS_MB = 300.0
ACCOUNTS = 100


@dataclass
class Run:
    workers: int
    seconds: float
    checks: int
    max_rss_mb: float


async def seed(url: str, instances: int, key_spec: str) -> None:
    import hashlib

    engine = make_engine(url)
    sessions = session_factory(engine)
    keyring = Keyring.from_spec(key_spec)
    now = utcnow()
    since = now - timedelta(hours=1)
    per_account = max(1, instances // ACCOUNTS)
    sandbox_accounts, sandbox_instances = [], []
    async with sessions() as session, session.begin():
        for n in range(ACCOUNTS):
            user = User(email=f"pro{n}@bench.local", name=f"pro{n}", password_hash="x", created_at=now)
            session.add(user)
            await session.flush()
            session.add(Subscription(user_id=user.id, plan_code="pro", status="active",
                                     current_period_end=now + timedelta(days=30), cancel_at_period_end=False,
                                     trial_used=False, updated_at=now))
            await session.flush()
            key = generate_api_key()
            binding = await bindings.add_binding(session, keyring, user.id, "sandbox", f"bench {n}", {"api_key": key})
            binding.status = "verified"
            digest = hashlib.sha256(key.encode()).hexdigest()
            sandbox_accounts.append((digest, json.dumps(None), 0, now))
            for i in range(per_account):
                instance_id = "i-" + uuid.uuid4().hex[:16]
                sandbox_instances.append((instance_id, digest, f"w{n}-{i}", "sbx.h100.1x", "sandbox-eu-1",
                                          "ubuntu-22.04-cuda-12", 200, False, "", "2.49", "198.51.100.7", since,
                                          "running", since, False))
                session.add(Instance(user_id=user.id, binding_id=binding.id, provider="sandbox",
                                     provider_instance_id=instance_id, client_token=uuid.uuid4().hex,
                                     name=f"w{n}-{i}", instance_type="sbx.h100.1x", region="sandbox-eu-1",
                                     gpu_slug="h100-sxm", gpu_raw_name="H100 SXM", status="running",
                                     raw_status="running", created_at=since, updated_at=since, auto_repair=True))
    await engine.dispose()
    with psycopg.connect(dsn(url), autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO sandbox_accounts (key_digest, faults, rng_draws, created_at) "
                        "VALUES (%s, %s, %s, %s)", sandbox_accounts)
        cur.executemany("INSERT INTO sandbox_instances (id, key_digest, name, instance_type, region, image, disk_gb, "
                        "spot, client_token, price_per_hour, public_ip, created_at, status, since, boot_fails) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", sandbox_instances)
        conn.execute("VACUUM ANALYZE")


def queue_checks(url: str) -> int:
    """One check job per watched instance, keyed and locked as the repair fan-out keys them."""
    with psycopg.connect(dsn(url), autocommit=True) as conn:
        conn.execute("TRUNCATE procrastinate_jobs, procrastinate_workers, procrastinate_events, "
                     "procrastinate_periodic_defers RESTART IDENTITY CASCADE")
        conn.execute("DELETE FROM job_leases")
        conn.execute("UPDATE instances SET repair_state = 'ok', lock_token = NULL, lock_expires_at = NULL")
        rows = conn.execute("SELECT id, binding_id FROM instances WHERE auto_repair").fetchall()
        conn.execute(
            "SELECT procrastinate_defer_jobs_v1(array_agg(ROW('default', 'repair:check_instance', 0, "
            "'binding:' || b, 'repair:' || i, json_build_object('instance_id', i)::jsonb, NULL)"
            "::procrastinate_job_to_defer_v1)) FROM unnest(%s::int[], %s::int[]) AS t(i, b)",
            ([r[0] for r in rows], [r[1] for r in rows]))
        return len(rows)


def remaining(url: str) -> int:
    with psycopg.connect(dsn(url), autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'repair:check_instance' "
                            "AND status IN ('todo', 'doing')").fetchone()[0]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def run_pass(url: str, workers: int, concurrency: int, key_spec: str) -> Run:
    checks = queue_checks(url)
    env = {**os.environ, "COMPUTEHUB_DATABASE_URL": url, "COMPUTEHUB_MASTER_KEYS": key_spec,
           "COMPUTEHUB_POLLING": "false", "COMPUTEHUB_LOAD_SNAPSHOT": "false", "COMPUTEHUB_SANDBOX_STORE": "database",
           "COMPUTEHUB_DEMO_ACCOUNT": "false",
           # One pass: the workers' own repair fan-out must not queue the next round while this one runs.
           "COMPUTEHUB_REPAIR_CHECK_SECONDS": "86400"}
    started = time.perf_counter()
    processes = [subprocess.Popen([sys.executable, "-m", "app.cli.main", "worker", "--concurrency", str(concurrency)],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True) for _ in range(workers)]
    peak = 0.0
    try:
        while remaining(url):
            peak = max(peak, *(rss_mb(p.pid) for p in processes))
            if any(p.poll() is not None for p in processes):
                raise RuntimeError("a worker exited during the pass")
            time.sleep(0.25)
        seconds = time.perf_counter() - started
    finally:
        for p in processes:
            os.killpg(p.pid, signal.SIGTERM)
        for p in processes:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
    return Run(workers, seconds, checks, peak)


def measure(url: str, instances: int, worker_counts: list[int], concurrency: int) -> list[Run]:
    key_spec = generate_key_spec("bench1")
    prepare(url)
    asyncio.run(seed(url, instances, key_spec))
    return [run_pass(url, n, concurrency, key_spec) for n in worker_counts]


def report(runs: list[Run]) -> list[dict]:
    base = runs[0].seconds
    rows = []
    for run in runs:
        rows.append({"workers": run.workers, "checks": run.checks, "seconds": round(run.seconds, 2),
                     "checks_per_second": round(run.checks / run.seconds, 1),
                     "speedup_vs_1": round(base / run.seconds, 2), "peak_rss_mb": round(run.max_rss_mb, 1),
                     "rss_target_met": run.max_rss_mb < TARGET_RSS_MB,
                     "time_target_met": (run.seconds < TARGET_SECONDS_2_WORKERS) if run.workers == 2 else None})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_repair", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--instances", type=int, default=10_000)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--concurrency", type=int, default=8, help="tasks in flight per worker process")
    args = p.parse_args(argv)
    rows = report(measure(bench_url(), args.instances, args.workers, args.concurrency))
    for row in rows:
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
