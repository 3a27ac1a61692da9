"""``computehub tokens`` and the console API client (``computehub instances|costs|templates``)
against the real app served by uvicorn on a free 127.0.0.1 port, on a SQLite file, with the
sandbox cloud under a manual clock: what an operator and a script see, and what the database says."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import uvicorn
from click.testing import CliRunner
from rich.console import Console
from sqlalchemy import select

from app.auth import service as accounts
from app.cli import main as cli_main
from app.cli import remote, tokens as tokens_cli
from app.console import bindings
from app.console.sync import sync_binding
from app.costs.accrual import accrue_costs
from app.db.engine import get_engine, make_engine, session_factory
from app.db.models import ApiToken, AuditEvent, CostRecord, Instance, Offer
from app.db.types import utcnow
from app.security.keyring import Keyring, generate_key_spec
from app.server import create_app
from app.settings import Settings, get_settings
from providers.http import new_client
from providers.sandbox import SandboxCloud, Timings, generate_api_key
from providers.sandbox import cloud as sandbox_cloud
from providers.sandbox.clock import ManualClock
from tests.auth.support import fast_password_hashing  # noqa: F401 - autouse: cheap argon2
from tests.billing.support import grant
from tests.browser.conftest import _free_port
from tests.console.conftest import sandbox_offers

EMAIL = "ops@example.com"
TOKEN = re.compile(r"chk_[A-Za-z0-9_-]+")


class Server:
    """uvicorn serving the app in a thread with its own loop and engine."""

    def __init__(self, database_url: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url
        self.server: uvicorn.Server | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        engine = make_engine(self.database_url)
        app = create_app(Settings(), engine=engine, run_worker=False)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        try:
            await self.server.serve()
        finally:
            await engine.dispose()

    def __enter__(self) -> "Server":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not (self.server and self.server.started):
            assert self.thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class World:
    def __init__(self, url: str, keyring: Keyring, clock: ManualClock, cloud: SandboxCloud) -> None:
        self.database_url, self.keyring, self.clock, self.cloud = url, keyring, clock, cloud
        self.binding_id = self.offer_id = 0
        self.api_key = ""

    def db(self, work):
        """Run ``work(sessions)`` on a fresh engine (the test's own loop; the server has another)."""
        async def main():
            engine = make_engine(self.database_url)
            try:
                return await work(session_factory(engine))
            finally:
                await engine.dispose()
        return asyncio.run(main())

    def instance(self, name: str) -> Instance | None:
        async def work(sessions):
            async with sessions() as session:
                return (await session.execute(select(Instance).where(Instance.name == name))).scalar_one_or_none()
        return self.db(work)

    def sync(self) -> None:
        async def work(sessions):
            async with new_client(timeout=5) as http:
                await sync_binding(sessions, self.keyring, http, self.binding_id)
        self.db(work)


@pytest.fixture
def world(tmp_path, monkeypatch) -> World:
    spec = generate_key_spec("cli1")
    url = f"sqlite+aiosqlite:///{tmp_path / 'console.sqlite3'}"
    for name, value in {"DATABASE_URL": url, "MASTER_KEYS": spec, "VAR_DIR": str(tmp_path / "var"),
                        "POLLING": "false", "LOAD_SNAPSHOT": "false", "SANDBOX": "true", "DEMO_ACCOUNT": "false",
                        "SANDBOX_STORE": "memory"}.items():
        monkeypatch.setenv(f"COMPUTEHUB_{name}", value)
    monkeypatch.delenv("COMPUTEHUB_API_URL", raising=False)
    monkeypatch.delenv("COMPUTEHUB_API_TOKEN", raising=False)
    for module in (remote, tokens_cli, cli_main):  # wide enough that rich never elides a column
        monkeypatch.setattr(module, "console", Console(width=250, color_system=None))
    get_settings.cache_clear()
    get_engine.cache_clear()
    clock = ManualClock(utcnow().replace(microsecond=0))
    cloud = SandboxCloud(clock=clock, timings=Timings())
    monkeypatch.setattr(sandbox_cloud, "_default_cloud", cloud)  # the server thread's sandbox too
    w = World(url, Keyring.from_spec(spec), clock, cloud)
    assert run("db", "upgrade").exit_code == 0

    async def setup(sessions):
        w.api_key = generate_api_key()
        async with sessions() as session, session.begin():
            user = await accounts.signup(session, EMAIL, "ops", "correct horse battery staple")
            row = await bindings.add_binding(session, w.keyring, user.id, "sandbox", "", {"api_key": w.api_key})
            row.status, row.verified_at = "verified", utcnow()
            w.binding_id, user_id = row.id, user.id
        await grant(sessions, user_id, "pro")
        await sandbox_offers(sessions)
        async with sessions() as session:
            w.offer_id = (await session.execute(select(Offer.id).where(
                Offer.source == "sandbox", Offer.instance_type == "sbx.h100.1x", Offer.spot.is_(False)))).scalars().first()
    w.db(setup)
    yield w
    get_settings.cache_clear()
    get_engine.cache_clear()


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli_main.cli, list(args), input=input)


def mint(scope: str) -> str:
    result = run("tokens", "create", "--email", EMAIL, "--scope", scope, "--name", f"{scope} script")
    assert result.exit_code == 0, result.output
    [token] = TOKEN.findall(result.stdout)
    assert result.stdout.strip() == token  # the token alone on stdout; the note on stderr
    assert "not shown again" in result.stderr
    return token


def test_tokens_from_the_shell_are_shown_once_listed_and_revoked(world):
    token = mint("write")
    listed = run("tokens", "list", "--email", EMAIL)
    assert listed.exit_code == 0 and token[:12] in listed.output and token not in listed.output
    assert "write script" in listed.output
    rows = json.loads(run("tokens", "list", "--email", EMAIL, "--json").stdout)
    assert [(r["name"], r["scope"]) for r in rows] == [("write script", "write")]

    async def stored(sessions):
        async with sessions() as session:
            return ((await session.execute(select(ApiToken))).scalars().all(),
                    (await session.execute(select(AuditEvent.action, AuditEvent.via))).all())
    [row], events = world.db(stored)
    assert row.token_hash != token and row.can_write  # stored hashed
    assert ("api_token.created", "shell: computehub tokens") in events

    assert run("tokens", "revoke", "--email", EMAIL, str(row.id)).exit_code == 0
    assert json.loads(run("tokens", "list", "--email", EMAIL, "--json").stdout) == []
    again = run("tokens", "revoke", "--email", EMAIL, str(row.id))
    assert again.exit_code != 0 and "no token" in again.output
    nobody = run("tokens", "create", "--email", "nobody@example.com", "--scope", "read")
    assert nobody.exit_code != 0 and "no account" in nobody.output
    bad = run("tokens", "create", "--email", EMAIL, "--scope", "admin")
    assert bad.exit_code != 0 and "admin" in bad.output


def test_the_cli_runs_a_sandbox_deployment_through_the_api(world):
    write, read = mint("write"), mint("read")
    with Server(world.database_url) as server:
        api = ["--url", server.url]

        refused = run("instances", "launch", *api, "--token", read, "--offer", str(world.offer_id),
                      "--key", str(world.binding_id), "--name", "not-me")
        assert refused.exit_code == 1 and "read-only" in refused.output and "Traceback" not in refused.output
        assert world.instance("not-me") is None

        launched = run("instances", "launch", *api, "--token", write, "--offer", str(world.offer_id),
                       "--key", str(world.binding_id), "--name", "trainer")
        assert launched.exit_code == 0, launched.output
        assert "launched trainer" in launched.output
        assert world.instance("trainer").status == "provisioning"
        assert [i["name"] for i in world.cloud.list_instances(world.api_key)] == ["trainer"]

        world.clock.advance(21)
        world.sync()
        table = run("instances", "list", *api, "--token", read)  # a read token may look
        assert table.exit_code == 0, table.output
        line = next(line for line in table.output.splitlines() if "trainer" in line)
        assert "running" in line and "sandbox" in line and "$2.4900/h" in line
        [listed] = json.loads(run("instances", "list", *api, "--token", read, "--json").stdout)
        assert (listed["name"], listed["status"], listed["id"]) == ("trainer", "running", world.instance("trainer").id)
        instance_id = listed["id"]

        started, until = world.clock() - timedelta(seconds=21), utcnow() + timedelta(hours=2)
        # The default range ends today; two hours on may be tomorrow, so the range is named.
        span = ("--from", f"{started:%Y-%m-%d}", "--to", f"{until:%Y-%m-%d}")

        async def accrue(sessions):
            await accrue_costs(sessions, now=until)
            async with sessions() as session:
                return (await session.execute(select(CostRecord.amount))).scalars().all()
        amounts = world.db(accrue)
        expected = sum(amounts, Decimal(0))
        assert expected > 0
        costs = run("costs", *api, *span, "--token", read, "--json")
        assert costs.exit_code == 0 and not costs.stderr, (costs.output, costs.stderr)
        body = json.loads(costs.stdout, parse_float=Decimal)
        assert isinstance(body["total"], str) and Decimal(body["total"]) == expected
        assert [(g["key"], Decimal(g["amount"])) for g in body["by_deployment"]] == [(str(instance_id), expected)]
        by_gpu = run("costs", *api, *span, "--token", read, "--by", "gpu")
        assert by_gpu.exit_code == 0 and f"${expected:,.2f}" in by_gpu.output

        stopped = run("instances", "stop", *api, "--token", write, str(instance_id))
        assert stopped.exit_code == 0, stopped.output
        assert world.instance("trainer").status == "stopping"
        world.clock.advance(30)
        world.sync()
        assert world.instance("trainer").status == "stopped"

        not_confirmed = run("instances", "delete", *api, "--token", write, str(instance_id), input="n\n")
        assert not_confirmed.exit_code != 0 and world.instance("trainer").status == "stopped"
        deleted = run("instances", "delete", *api, "--token", write, str(instance_id), "--yes", "--json")
        assert deleted.exit_code == 0, deleted.output
        assert json.loads(deleted.stdout)["status"] == "terminating"
        assert world.instance("trainer").status == "terminating"

        missing = run("instances", "get", *api, "--token", write, "999999")
        assert missing.exit_code == 1 and "no such instance" in missing.output and "404" in missing.output
        wrong = run("instances", "list", *api, "--token", "chk_not-a-token")
        assert wrong.exit_code == 1 and "401" in wrong.output
        templates = run("templates", "list", *api, "--token", read, "--json")
        assert templates.exit_code == 0 and json.loads(templates.stdout) == []

    gone = run("instances", "list", *api, "--token", write)  # the server has stopped
    assert gone.exit_code == 3 and "could not reach" in gone.output and "Traceback" not in gone.output
    no_token = run("instances", "list", *api)
    assert no_token.exit_code == 2 and "COMPUTEHUB_API_TOKEN" in no_token.output
