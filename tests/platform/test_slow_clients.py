"""Slow clients against a real server on a loopback port: half-sent headers, a stalled body and an
idle kept-alive connection are all cut off within their deadlines."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from app.db.engine import make_engine
from app.server import create_app
from app.settings import Settings, WebSettings
from app.web.http_server import server_config

DEADLINE = 1.0
WAIT_AT_MOST = DEADLINE + 2.5  # the test gives up (and fails) after this


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[int]:
    port = _free_port()
    web = WebSettings(header_timeout_seconds=DEADLINE, body_timeout_seconds=DEADLINE,
                      keepalive_timeout_seconds=DEADLINE)
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('slow') / 'unused.sqlite3'}"
    holder: dict[str, uvicorn.Server] = {}

    def run() -> None:
        async def serve() -> None:
            engine = make_engine(url)
            app = create_app(Settings(web=web), engine=engine, run_worker=False)
            holder["server"] = uvicorn.Server(server_config(app, web, host="127.0.0.1", port=port,
                                                            log_level="warning", lifespan="off"))
            await holder["server"].serve()
            await engine.dispose()

        asyncio.run(serve())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not (holder.get("server") and holder["server"].started):
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield port
    holder["server"].should_exit = True
    thread.join(timeout=10)


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_AT_MOST)
    return sock


def read_until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes; fails if it keeps the connection past WAIT_AT_MOST."""
    started, received = time.monotonic(), b""
    while True:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            pytest.fail(f"the server kept the connection open for {WAIT_AT_MOST}s; received {received[:200]!r}")
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return received, time.monotonic() - started
        received += chunk


def test_half_a_request_line_is_disconnected(server):
    with connect(server) as sock:
        sock.sendall(b"GET /heal")
        received, waited = read_until_closed(sock)
    assert received == b""
    assert waited < DEADLINE + 1


def test_headers_trickled_byte_by_byte_are_disconnected_at_the_deadline(server):
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 40
    started = time.monotonic()
    with connect(server) as sock:
        try:
            for byte in request:  # one byte every 0.1 s: never idle, never finished
                sock.sendall(bytes([byte]))
                time.sleep(0.1)
                if time.monotonic() - started > WAIT_AT_MOST:
                    pytest.fail("still connected after the header deadline")
        except (BrokenPipeError, ConnectionResetError):
            pass  # cut off while sending: what we want
        else:
            read_until_closed(sock)
    assert time.monotonic() - started < DEADLINE + 1.5


def test_a_stalled_body_gets_408_and_the_connection_closes(server):
    with connect(server) as sock:
        sock.sendall(b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\nemail=a")
        received, waited = read_until_closed(sock)
    assert received.startswith(b"HTTP/1.1 408"), received[:200]
    assert waited < DEADLINE + 1.5


def test_an_idle_kept_alive_connection_is_closed(server):
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        received, waited = read_until_closed(sock)
    assert received.startswith(b"HTTP/1.1 200")
    assert waited < DEADLINE + 1.5


def test_a_connection_that_sends_nothing_is_closed(server):
    with connect(server) as sock:
        received, waited = read_until_closed(sock)
    assert received == b"" and waited < DEADLINE + 1


def test_a_normal_client_is_served_on_a_kept_alive_connection(server):
    with connect(server) as sock:
        for _ in range(3):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            response = b""
            while b'{"status":"ok"}' not in response:
                chunk = sock.recv(65536)
                assert chunk, f"closed early: {response!r}"
                response += chunk
            assert response.startswith(b"HTTP/1.1 200")
