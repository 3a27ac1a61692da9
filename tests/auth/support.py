"""The real app in a test, and a browser-like client for it (cookies, CSRF token from the form).

Import the fixtures into a conftest (``from tests.auth.support import *``); ``tests/bindings``
shares them. Every client talks to the app in-process: no network.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth import passwords, service, totp
from app.db.models import User
from app.security.keyring import Keyring, generate_key_spec, totp_aad
from app.server import create_app
from app.settings import MailSettings, PollingSettings, SandboxSettings, SecuritySettings, Settings

__all__ = ["Browser", "app", "browser", "fast_password_hashing", "make_user", "new_browser", "settings", "PASSWORD"]

BASE_URL = "http://testserver.local"
PASSWORD = "correct horse battery"
_CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')


class Browser:
    """Cookies and the CSRF token the way a browser has them: the token comes from the last form."""

    def __init__(self, app: Litestar, address: str = "198.51.100.7") -> None:
        transport = httpx.ASGITransport(app=app, client=(address, 50000))
        self.http = httpx.AsyncClient(transport=transport, base_url=BASE_URL, follow_redirects=False)
        self.form_token: str | None = None

    async def close(self) -> None:
        await self.http.aclose()

    async def get(self, path: str, **kw) -> httpx.Response:
        response = await self.http.get(path, **kw)
        if found := _CSRF_INPUT.search(response.text):
            self.form_token = found.group(1)
        return response

    async def post(self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True) -> httpx.Response:
        form = dict(data or {})
        if csrf:
            form["_csrf_token"] = self.form_token or self.http.cookies.get("computehub_csrf", "")
        return await self.http.post(path, data=form)

    async def submit(self, page: str, action: str, data: dict[str, str] | None = None) -> httpx.Response:
        """Open ``page`` (which sets the CSRF cookie and renders the token), then post its form."""
        opened = await self.get(page)
        assert opened.status_code == 200, (page, opened.status_code)
        return await self.post(action, data)

    async def login(self, email: str, password: str = PASSWORD, next: str = "") -> httpx.Response:
        return await self.submit("/login", "/login", {"email": email, "password": password, "next": next})

    async def logout(self) -> httpx.Response:
        await self.get("/")  # the header's log-out form carries this session's token
        return await self.post("/logout")

    @property
    def session_id(self) -> str | None:
        return self.http.cookies.get("computehub_session")


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch) -> None:
    """Still argon2id, with tiny costs: the production cost (~0.5 s a hash) would make these
    tests take minutes. Like Django's advice to use a fast hasher in tests."""
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", fast)
    monkeypatch.setattr(passwords, "DUMMY_HASH", fast.hash("computehub-timing-equaliser"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Everything the app writes goes under tmp_path: mail outbox, var dir; a fixed master key."""
    return Settings(
        polling=PollingSettings(enabled=False, load_snapshot=False),
        security=SecuritySettings(
            master_keys=generate_key_spec("test1"), session_secret="test-session-secret-" + "x" * 20,
            session_store="memory", secure_cookies=False, login_attempts_per_window=5,
            login_window_seconds=300, var_dir=tmp_path / "var",
        ),
        mail=MailSettings(backend="outbox", outbox_dir=tmp_path / "outbox"),
        sandbox=SandboxSettings(enabled=True, demo_account=False),
    )


@pytest.fixture
async def app(settings: Settings, engine, sessions) -> AsyncIterator[Litestar]:
    application = create_app(settings, engine=engine, run_worker=False)
    async with AsyncTestClient(app=application):  # runs the start-up and shut-down hooks
        yield application


@pytest.fixture
async def new_browser(app: Litestar) -> AsyncIterator[Callable[..., Browser]]:
    opened: list[Browser] = []

    def open_browser(address: str = "198.51.100.7") -> Browser:
        opened.append(Browser(app, address))
        return opened[-1]

    yield open_browser
    for b in opened:
        await b.close()


@pytest.fixture
def browser(new_browser) -> Browser:
    return new_browser()


async def make_user(
    sessions: async_sessionmaker[AsyncSession], email: str, *, name: str = "Ada", password: str = PASSWORD,
    is_admin: bool = False, totp_keyring: Keyring | None = None,
) -> tuple[User, str | None]:
    """A user created through the account service; with ``totp_keyring``, two-factor is on.
    Returns the user and the TOTP secret (or None)."""
    async with sessions() as session, session.begin():
        user = await service.signup(session, email, name, password, is_admin=is_admin)
        secret = None
        if totp_keyring is not None:
            secret = service.begin_totp(user, totp_keyring)
            # The previous step's code: the current one stays unused, for the test to log in with.
            await service.confirm_totp(session, user, totp_keyring, totp.code_at(secret, time.time() - totp.STEP))
    return user, secret

