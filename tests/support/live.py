"""The app as real processes on a private PostgreSQL database: web servers (``computehub run
--no-worker``) and job workers (``computehub worker``) that a test can SIGKILL and start again.

The test process shares only the database (and Redis) with them: it seeds users, keys and offers
through the app's own services, reads the sandbox cloud through its database store, and talks to
the web processes over HTTP like a browser.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine

from app.auth import service as accounts
from app.console import bindings
from app.db.types import utcnow
from app.notifications.outbox import set_preference
from app.security.keyring import Keyring, generate_key_spec
from providers.http import new_client
from providers.sandbox import SandboxCloud, SandboxProvider, generate_api_key
from providers.sandbox.store import DatabaseStore
from tests.billing.support import grant
from tests.support.factories import seed

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
MASTER_KEYS = generate_key_spec("live1")
CSRF_COOKIE = "computehub_csrf"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sync_url(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg", "postgresql+psycopg")


def sandbox_cloud(database_url: str) -> SandboxCloud:
    """The same simulated cloud the processes use (its tables in the shared database, real clock)."""
    return SandboxCloud(store=DatabaseStore(create_engine(sync_url(database_url), pool_pre_ping=True)))


@dataclass
class Account:
    user_id: int
    email: str
    binding_id: int
    api_key: str


async def make_account(sessions, keyring: Keyring, email: str, *, notify: bool = True) -> Account:
    """A Pro user with a verified sandbox key (its own empty sandbox account), e-mailed on every
    state change of its deployments."""
    api_key = generate_api_key()
    async with sessions() as session, session.begin():
        user = await accounts.signup(session, email, email.split("@")[0], PASSWORD)
        row = await bindings.add_binding(session, keyring, user.id, "sandbox", "", {"api_key": api_key})
        row.status, row.verified_at = "verified", utcnow()
        account = Account(user.id, email, row.id, api_key)
    await grant(sessions, account.user_id, "pro")
    if notify:
        async with sessions() as session, session.begin():
            await set_preference(session, account.user_id, "deployment_state", "email", True)
    return account


async def sandbox_offer_ids(sessions) -> dict[str, int]:
    """Ingest the sandbox's price list like a poll; instance type -> on-demand offer id."""
    from sqlalchemy import select

    from app.db.models import Offer

    async with new_client() as client:
        result = await SandboxProvider(client, {}).fetch_offers()
    await seed(sessions, result.offers, at=utcnow() - timedelta(minutes=1))
    async with sessions() as session:
        rows = (await session.execute(select(Offer).where(Offer.source == "sandbox", Offer.spot.is_(False)))).scalars()
        return {row.instance_type: row.id for row in rows}


@dataclass
class Stack:
    """Processes of one app: started, SIGKILLed and restarted by the test."""

    database_url: str
    var_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    worker_env: dict[str, str] = field(default_factory=dict)
    """On top of ``extra_env``, for worker processes only."""
    webs: dict[int, subprocess.Popen] = field(default_factory=dict)
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: list[Path] = field(default_factory=list)

    def env(self, **more: str) -> dict[str, str]:
        return {**os.environ, "COMPUTEHUB_DATABASE_URL": self.database_url, "COMPUTEHUB_VAR_DIR": str(self.var_dir),
                "COMPUTEHUB_MASTER_KEYS": MASTER_KEYS, "COMPUTEHUB_SANDBOX_STORE": "database",
                "COMPUTEHUB_DEMO_ACCOUNT": "false", "COMPUTEHUB_POLLING": "false",
                "COMPUTEHUB_LOAD_SNAPSHOT": "false", "COMPUTEHUB_SESSION_STORE": "database",
                "COMPUTEHUB_EMBEDDED_WORKER": "false", "PYTHONUNBUFFERED": "1", **self.extra_env, **more}

    def _spawn(self, args: list[str], log_name: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        log = self.var_dir / f"{log_name}.log"
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.logs.append(log)
        with log.open("ab") as out:
            return subprocess.Popen([sys.executable, "-m", "app.cli.main", *args], cwd=ROOT, env=env or self.env(),
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def start_web(self, port: int | None = None) -> str:
        port = port or free_port()
        process = self._spawn(["run", "--port", str(port), "--no-worker"], f"web-{port}")
        self.webs[port] = process
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"web {port} exited: {self.tail(f'web-{port}')}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    return base
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"web {port} did not get ready: {self.tail(f'web-{port}')}")

    def start_worker(self, name: str, concurrency: int = 4) -> subprocess.Popen:
        process = self._spawn(["worker", "--concurrency", str(concurrency)], f"worker-{name}",
                              self.env(**self.worker_env))
        self.workers[name] = process
        return process

    def kill_web(self, port: int) -> None:
        _kill(self.webs.pop(port), signal.SIGKILL)

    def kill_worker(self, name: str) -> None:
        _kill(self.workers.pop(name), signal.SIGKILL)

    def tail(self, log_name: str, lines: int = 40) -> str:
        path = self.var_dir / f"{log_name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def errors(self) -> str:
        """Each distinct exception line the processes logged, with how often: for a failure's message."""
        import collections

        found = collections.Counter()
        for path in set(self.logs):
            if path.exists():
                for line in path.read_text(errors="replace").splitlines():
                    if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Timeout|Violation)\w*: ", line):
                        found[line[:300]] += 1
        return "\n".join(f"{n} x {line}" for line, n in found.most_common(10))

    def stop(self) -> None:
        for process in [*self.webs.values(), *self.workers.values()]:
            _kill(process, signal.SIGTERM)
        for process in [*self.webs.values(), *self.workers.values()]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _kill(process, signal.SIGKILL)
        self.webs.clear()
        self.workers.clear()


def _kill(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)  # the process and anything it started
    except ProcessLookupError:
        pass
    if sig == signal.SIGKILL:
        process.wait(timeout=20)


class Browser:
    """An HTTP client logged in through the login form, sending the CSRF token like a browser."""

    def __init__(self, base: str, email: str, *, timeout: float = 60) -> None:
        self.client = httpx.Client(base_url=base, follow_redirects=False, timeout=timeout)
        self.client.get("/login")
        response = self.post("/login", {"email": email, "password": PASSWORD})
        assert response.status_code in (302, 303), response.text[:300]

    def post(self, url: str, data: dict) -> httpx.Response:
        return self.client.post(url, data=data, headers={"x-csrftoken": self.client.cookies[CSRF_COOKIE]})

    def get(self, url: str) -> httpx.Response:
        return self.client.get(url)

    def close(self) -> None:
        self.client.close()


INSTANCE_LINK = re.compile(r"/console/instances/(\d+)")


def instance_id_of(response: httpx.Response) -> int | None:
    match = INSTANCE_LINK.search(response.headers.get("location", ""))
    return int(match.group(1)) if match else None
