"""Console tests: the real app and services on each test database, against the sandbox cloud.

The sandbox provider is the one the registry builds (``SandboxProvider(http, credentials)``),
served in-process by a ``SandboxCloud`` under a manual clock, so a test moves boots and stops
forward by advancing the clock: no sleeping, no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode
from datetime import timedelta

import httpx
import pytest
from litestar.testing import AsyncTestClient

from app.auth import service as accounts
from app.console import bindings
from app.db.types import utcnow
from app.security.keyring import Keyring, generate_key_spec
from app.server import create_app
from app.settings import PollingSettings, SandboxSettings, SecuritySettings, Settings
from providers.http import new_client
from providers.sandbox import SandboxCloud, SandboxProvider, Timings, generate_api_key
from providers.sandbox import cloud as sandbox_cloud
from providers.sandbox.clock import ManualClock
from tests.auth.support import fast_password_hashing  # noqa: F401 - autouse: cheap argon2 in tests
from tests.billing.support import grant
from tests.support.factories import seed
from tests.web.html import Node, parse_html

MASTER_KEYS = generate_key_spec("test1")
PASSWORD = "correct horse battery staple"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        polling=PollingSettings(enabled=False, load_snapshot=False),
        security=SecuritySettings(master_keys=MASTER_KEYS, var_dir=tmp_path / "var"),
        sandbox=SandboxSettings(enabled=True, demo_account=False),
    )


@pytest.fixture
def keyring(settings) -> Keyring:
    return Keyring.from_spec(settings.security.master_keys)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(utcnow().replace(microsecond=0))


@pytest.fixture
def cloud(clock, monkeypatch) -> SandboxCloud:
    """The process-wide sandbox cloud, replaced by one on the test's clock."""
    cloud = SandboxCloud(clock=clock, timings=Timings())
    monkeypatch.setattr(sandbox_cloud, "_default_cloud", cloud)
    return cloud


@pytest.fixture
async def http():
    async with new_client(timeout=5) as client:
        yield client


@dataclass
class Account:
    user_id: int
    email: str
    binding_id: int
    api_key: str


async def make_account(sessions, keyring: Keyring, email: str, plan: str | None = None) -> Account:
    """A user with one verified sandbox key (each key is its own, empty sandbox account)."""
    api_key = generate_api_key()
    async with sessions() as session, session.begin():
        user = await accounts.signup(session, email, email.split("@")[0], PASSWORD)
        row = await bindings.add_binding(session, keyring, user.id, "sandbox", "", {"api_key": api_key})
        row.status, row.verified_at = "verified", utcnow()
        account = Account(user.id, email, row.id, api_key)
    if plan:
        await grant(sessions, account.user_id, plan)
    return account


@pytest.fixture
async def alice(sessions, keyring, cloud) -> Account:
    """On the Pro plan: templates and batch actions are Pro features."""
    return await make_account(sessions, keyring, "alice@example.com", plan="pro")


@pytest.fixture
async def bob(sessions, keyring, cloud) -> Account:
    return await make_account(sessions, keyring, "bob@example.com")


async def sandbox_offers(sessions) -> None:
    """The sandbox's price list, ingested like a poll would."""
    async with new_client() as client:
        result = await SandboxProvider(client, {}).fetch_offers()
    await seed(sessions, result.offers, at=utcnow() - timedelta(minutes=1))


# ---- the web app -------------------------------------------------------------------------

@pytest.fixture
def app(engine, sessions, settings):
    return create_app(settings, engine=engine, run_worker=False)


class Browser:
    """A logged-in test client that sends the CSRF token with every form, like a browser."""

    def __init__(self, client: AsyncTestClient) -> None:
        self.client = client

    async def get(self, url: str, **kw) -> httpx.Response:
        return await self.client.get(url, **kw)

    async def page(self, url: str, status: int = 200) -> Node:
        response = await self.client.get(url)
        assert response.status_code == status, f"{url}: {response.status_code} {response.text[:400]}"
        return parse_html(response.text)

    async def post(self, url: str, data: dict | list | None = None, **kw) -> httpx.Response:
        if "computehub_csrf" not in self.client.cookies:
            await self.client.get("/login")
        headers = {"x-csrftoken": self.client.cookies["computehub_csrf"],
                   "content-type": "application/x-www-form-urlencoded"}
        # A list of pairs sends repeated fields (checkboxes), as a browser does.
        return await self.client.post(url, content=urlencode(data or {}, doseq=True), headers=headers, **kw)


async def logged_in(app, email: str) -> tuple[Browser, AsyncTestClient]:
    client = AsyncTestClient(app=app)
    await client.__aenter__()
    browser = Browser(client)
    response = await browser.post("/login", {"email": email, "password": PASSWORD})
    assert response.status_code == 200 and response.url.path == "/console", response.text[:300]
    return browser, client


@pytest.fixture
async def as_alice(app, alice):
    browser, client = await logged_in(app, alice.email)
    yield browser
    await client.__aexit__(None, None, None)


@pytest.fixture
async def as_bob(app, bob):
    browser, client = await logged_in(app, bob.email)
    yield browser
    await client.__aexit__(None, None, None)


@pytest.fixture
async def login(app):
    """``await login(email)`` -> a browser-like client logged in as that user."""
    clients: list[AsyncTestClient] = []

    async def log_in(email: str) -> Browser:
        client = AsyncTestClient(app=app)
        await client.__aenter__()
        clients.append(client)
        browser = Browser(client)
        response = await browser.post("/login", {"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text[:300]
        return browser

    yield log_in
    for client in reversed(clients):  # last in, first out: each client runs the app's lifespan
        await client.__aexit__(None, None, None)
