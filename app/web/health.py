"""Liveness and readiness.

``/healthz``: the process answers (a load balancer restarts it otherwise).
``/readyz``: it can do its work: the database answers, Redis answers when the app is configured to
use it, and the job queue is reachable (PostgreSQL: procrastinate's table; embedded: the in-process
worker is alive). Any failure is a 503 naming the check, so traffic moves elsewhere.
"""

from __future__ import annotations

import asyncio

from litestar import Request, Response, get
from sqlalchemy import text


CHECK_TIMEOUT_SECONDS = 2.0


@get("/healthz", permission="public", include_in_schema=False, sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _database(state) -> str:
    async with state.sessions() as session:
        await session.execute(text("SELECT 1"))
    return "ok"


async def _redis(settings) -> str:
    if settings.security.session_store != "redis":
        return "not used"
    from redis.asyncio import Redis

    client = Redis.from_url(settings.security.redis_url, socket_timeout=CHECK_TIMEOUT_SECONDS)
    try:
        await client.ping()
    finally:
        await client.aclose()
    return "ok"


async def _queue(state) -> str:
    if state.engine.dialect.name == "postgresql":
        async with state.sessions() as session:
            await session.execute(text("SELECT 1 FROM procrastinate_jobs LIMIT 1"))
        return "ok"
    worker = getattr(state, "worker", None)
    if worker is None:
        return "not used"  # embedded queue, no worker in this process (`--no-worker`)
    if not worker.running:
        raise RuntimeError("the embedded worker stopped")
    return "ok"


async def _check(name: str, probe) -> tuple[str, str, bool]:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            return name, await probe, True
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; the reason is reported
        return name, f"failed: {type(exc).__name__}: {exc}"[:200], False


@get("/readyz", permission="public", include_in_schema=False)
async def readyz(request: Request) -> Response:
    state = request.app.state
    results = await asyncio.gather(_check("database", _database(state)), _check("redis", _redis(state.settings)),
                                   _check("queue", _queue(state)))
    ready = all(ok for _, _, ok in results)
    body = {"status": "ready" if ready else "unavailable", "checks": {name: detail for name, detail, _ in results}}
    return Response(body, status_code=200 if ready else 503)
