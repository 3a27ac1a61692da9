"""Which address the login throttle counts: the socket peer, unless it is a trusted proxy."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import ip_network

import httpx
import pytest
import uvicorn
from click.testing import CliRunner

from litestar.testing import AsyncTestClient

from app.cli import main as cli_main
from app.db.engine import get_engine
from app.server import create_app
from app.settings import get_settings
from app.web.client_address import resolve_client_address
from tests.auth.support import BASE_URL, PASSWORD, Browser, make_user

LIMIT = 5
ADDRESS_LIMIT = 12
PROXIES = (ip_network("10.0.0.0/8"), ip_network("fd00::/8"))


@pytest.fixture
def settings(settings):
    return replace(settings, security=replace(settings.security, login_attempts_per_window=LIMIT,
                                              login_attempts_per_address=ADDRESS_LIMIT))


@pytest.mark.parametrize(("peer", "forwarded", "expected"), [
    # Not a trusted proxy: whatever the header says, the peer is the client.
    ("127.0.0.1", ["203.0.113.5"], "127.0.0.1"),
    ("198.51.100.1", ["10.0.0.1, 203.0.113.5"], "198.51.100.1"),
    ("::ffff:198.51.100.1", ["203.0.113.5"], "198.51.100.1"),
    ("2001:db8:0:0::1", ["203.0.113.5"], "2001:db8::1"),
    # Behind our proxy: the rightmost address that is not one of ours.
    ("10.0.0.2", ["203.0.113.5"], "203.0.113.5"),
    ("10.0.0.2", ["1.2.3.4, 203.0.113.5"], "203.0.113.5"),  # the client's own left part is ignored
    ("10.0.0.2", ["1.2.3.4, 203.0.113.5, 10.9.9.9"], "203.0.113.5"),  # two proxies of ours
    ("10.0.0.2", ["1.2.3.4", "203.0.113.5"], "203.0.113.5"),  # several header lines
    ("10.0.0.2", ["203.0.113.5:4711"], "203.0.113.5"),
    ("10.0.0.2", ["[2001:db8::7]:4711"], "2001:db8::7"),
    ("10.0.0.2", ["::ffff:203.0.113.5"], "203.0.113.5"),
    ("fd00::1", ["2001:db8::7"], "2001:db8::7"),
    ("::ffff:10.0.0.2", ["203.0.113.5"], "203.0.113.5"),
    # Nothing usable from the proxy: the proxy itself (never an address the client chose).
    ("10.0.0.2", [], "10.0.0.2"),
    ("10.0.0.2", ["garbage, 10.0.0.3"], "10.0.0.3"),
    ("10.0.0.2", ["203.0.113.5, not-an-ip"], "10.0.0.2"),
    ("10.0.0.2", ["10.0.0.3, 10.0.0.4"], "10.0.0.3"),
])
def test_resolve_client_address(peer, forwarded, expected):
    assert resolve_client_address(peer, forwarded, PROXIES) == expected


def test_the_forwarded_header_is_ignored_without_trusted_proxies():
    assert resolve_client_address("127.0.0.1", ["203.0.113.5"], ()) == "127.0.0.1"


async def fail_with_rotating_forwarded_for(browser, count: int, real: str | None = None) -> None:
    for i in range(count):
        hop = f"198.18.{i // 250}.{i % 250 + 1}"
        browser.http.headers["X-Forwarded-For"] = f"{hop}, {real}" if real else hop
        assert (await browser.login(f"guess{i % 4}@example.com", "wrong password!")).status_code == 400


async def test_a_rotating_forwarded_for_from_localhost_is_ignored_and_blocked(new_browser, sessions):
    await make_user(sessions, "ada@example.com")
    local = new_browser("127.0.0.1")
    await fail_with_rotating_forwarded_for(local, ADDRESS_LIMIT)

    local.http.headers["X-Forwarded-For"] = "198.18.200.200"
    assert (await local.login("ada@example.com", PASSWORD)).status_code == 429


async def test_behind_a_trusted_proxy_each_real_client_has_its_own_budget(settings, engine, sessions):
    await make_user(sessions, "ada@example.com")
    behind_proxy = replace(settings, security=replace(settings.security, trusted_proxies=PROXIES))
    application = create_app(behind_proxy, engine=engine, run_worker=False)
    async with AsyncTestClient(app=application):
        attacker, owner = Browser(application, "10.0.0.2"), Browser(application, "10.0.0.2")
        try:
            # The attacker rotates the part of the header it controls; our proxy appends its real address.
            await fail_with_rotating_forwarded_for(attacker, ADDRESS_LIMIT, real="203.0.113.66")
            attacker.http.headers["X-Forwarded-For"] = "198.18.99.99, 203.0.113.66"
            assert (await attacker.login("ada@example.com", PASSWORD)).status_code == 429

            owner.http.headers["X-Forwarded-For"] = "192.0.2.10"
            assert (await owner.login("ada@example.com", PASSWORD)).headers["location"] == "/console"
        finally:
            await attacker.close()
            await owner.close()


async def test_the_served_app_ignores_forwarded_for_from_localhost(app, sessions, tmp_path, monkeypatch):
    """``computehub run`` serves through uvicorn, whose default takes X-Forwarded-For from 127.0.0.1
    as the client: rebuild the server stack from the options the command passes to uvicorn."""
    await make_user(sessions, "ada@example.com")
    monkeypatch.setenv("COMPUTEHUB_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'served.sqlite3'}")
    get_settings.cache_clear()
    served: dict = {}
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: served.update(config=self.config))
    try:
        result = CliRunner().invoke(cli_main.cli, ["run", "--no-worker"], catch_exceptions=False)
    finally:
        get_settings.cache_clear()
        get_engine.cache_clear()
    assert result.exit_code == 0, result.output
    config = served["config"]
    config.app = app  # the test's app, behind exactly the middleware stack the command configured
    config.load()

    transport = httpx.ASGITransport(app=config.loaded_app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        async def login(email: str, password: str, spoofed: str) -> httpx.Response:
            page = await client.get("/login", headers={"X-Forwarded-For": spoofed})
            token = page.text.split('name="_csrf_token" value="', 1)[1].split('"', 1)[0]
            return await client.post("/login", headers={"X-Forwarded-For": spoofed}, data={
                "email": email, "password": password, "_csrf_token": token})

        # Guesses spread over accounts, each from a "new" address: all of them come from 127.0.0.1.
        for i in range(ADDRESS_LIMIT):
            assert (await login(f"guess{i % 4}@example.com", "wrong password!", f"198.18.0.{i + 1}")).status_code == 400
        assert (await login("ada@example.com", PASSWORD, "198.18.0.200")).status_code == 429
