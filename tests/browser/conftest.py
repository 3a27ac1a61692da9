"""Real headless Chromium against the real app served by uvicorn on a free 127.0.0.1 port.

The server runs in a background thread with its own event loop, so it gets its own engine
(from ``database_url``); tests seed through the ``sessions`` fixture and commit first.
With CI=true a missing Chromium fails the run instead of skipping it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright

from app.db.engine import make_engine
from app.server import create_app
from app.settings import Settings, WebSettings
from tests.conftest import IN_CI
from tests.auth.support import fast_password_hashing  # noqa: F401 - autouse: cheap argon2 in tests

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """uvicorn serving create_app() in a thread; ``url`` is its base address."""

    def __init__(self, database_url: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url
        self.server: uvicorn.Server | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="live-server", daemon=True)

    def _run(self) -> None:
        async def serve() -> None:
            engine = make_engine(self.database_url)  # bound to this thread's loop, not the tests'
            app = create_app(Settings(web=WebSettings(base_url=self.url)), engine=engine, run_worker=False)
            self.server = uvicorn.Server(
                uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
            )
            try:
                await self.server.serve()
            finally:
                await engine.dispose()

        try:
            asyncio.run(serve())
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self.error = exc

    def start(self, timeout: float = 20) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not (self.server and self.server.started):
            if self.error or not self.thread.is_alive():
                raise RuntimeError(f"the live server did not start: {self.error!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("the live server did not start in time")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.server:
            self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(database_url) -> Iterator[LiveServer]:
    server = LiveServer(database_url)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not CHROMIUM.exists():
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return str(CHROMIUM)


@pytest.fixture(scope="session")
async def browser(chromium_path) -> Browser:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser) -> Page:
    context = await browser.new_context(viewport={"width": 1366, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    watch_csp(page, errors)
    yield page
    await context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def watch_csp(page: Page, errors: list[str]) -> None:
    """Chromium reports every Content-Security-Policy violation on the console: each is an error."""
    def on_console(message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            errors.append(f"CSP violation: {message.text}")

    page.on("console", on_console)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
