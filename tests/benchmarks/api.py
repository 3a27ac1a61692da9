"""(b) GET /api/v1/prices under load vs a bare Litestar endpoint, both served the same way.

Each server is uvicorn (one worker, no access log) in a subprocess on 127.0.0.1; the load is an
httpx.AsyncClient keeping ``concurrency`` requests in flight until ``requests`` are done.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Load:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    @classmethod
    def merged(cls, runs: list[Load]) -> Load:
        return cls(sum(r.requests for r in runs), sum(r.errors for r in runs), sum(r.seconds for r in runs),
                   [t for r in runs for t in r.latencies])

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * len(ordered))) - 1)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(target: str, env: dict[str, str], *, factory: bool = False):
    """uvicorn ``target`` in a subprocess; yields its base URL once /healthz answers."""
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port),
           "--no-access-log", "--log-level", "warning"]
    if factory:
        cmd.append("--factory")
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server {target} exited with code {proc.returncode}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server {target} did not start within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def interleaved(urls: dict[str, str], requests: int, concurrency: int, rounds: int = 4) -> dict[str, Load]:
    """Alternate short runs against every URL, so a change in machine load hits all of them alike."""
    for url in urls.values():
        await load(url, 0, concurrency, warmup=50)
    runs: dict[str, list[Load]] = {name: [] for name in urls}
    for _ in range(rounds):
        for name, url in urls.items():
            runs[name].append(await load(url, requests // rounds, concurrency))
    return {name: Load.merged(r) for name, r in runs.items()}


async def load(url: str, requests: int, concurrency: int, warmup: int = 0) -> Load:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        for _ in range(warmup):
            (await client.get(url)).raise_for_status()
        latencies: list[float] = []
        errors = 0
        remaining = requests

        async def worker() -> None:
            nonlocal remaining, errors
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                response = await client.get(url)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return Load(requests, errors, time.perf_counter() - started, latencies)
