"""The health endpoint decides for a running instance: N failed checks in a row and it is rebooted."""

from __future__ import annotations

import asyncio
import ipaddress
from contextlib import asynccontextmanager

import pytest

from app.repair.endpoint import Endpoint, parse_endpoint, probe
from tests.repair.support import actions, checks, reload, run_cycle, watched_instance

LOCAL = ipaddress.ip_address("127.0.0.1")


class HealthServer:
    """A real HTTP server on 127.0.0.1 whose answer a test switches (the sandbox may use local endpoints)."""

    def __init__(self) -> None:
        self.status = 200
        self.requests: list[str] = []
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.requests.append(head.decode("latin-1"))
        writer.write(f"HTTP/1.1 {self.status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".encode())
        await writer.drain()
        writer.close()


@asynccontextmanager
async def health_server():
    server_state = HealthServer()
    server = await asyncio.start_server(server_state.handle, "127.0.0.1", 0)
    server_state.port = server.sockets[0].getsockname()[1]
    try:
        yield server_state
    finally:
        server.close()
        await server.wait_closed()


async def closed_port() -> int:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    return port


async def test_http_probe_wants_a_2xx_and_sends_the_host_name():
    async with health_server() as server:
        target = Endpoint("http", "gpu.example.com", server.port, "/health?deep=1")
        assert (await probe(target, LOCAL, 2)).ok
        assert server.requests[0].startswith("GET /health?deep=1 HTTP/1.1")
        assert f"host: gpu.example.com:{server.port}" in server.requests[0].lower()
        server.status = 503
        result = await probe(target, LOCAL, 2)
        assert (result.ok, result.detail) == (False, "HTTP 503 (expected 2xx)")
        server.status = 302  # a redirect is not followed: it could lead anywhere
        assert not (await probe(target, LOCAL, 2)).ok


async def test_tcp_probe_wants_a_connection():
    async with health_server() as server:
        assert (await probe(parse_endpoint(f"tcp://127.0.0.1:{server.port}"), LOCAL, 2)).ok
    port = await closed_port()
    result = await probe(parse_endpoint(f"tcp://127.0.0.1:{port}"), LOCAL, 2)
    assert not result.ok and result.detail.startswith(f"TCP connection to port {port} refused or unreachable")


async def test_a_failing_endpoint_gets_the_instance_rebooted_after_three_checks(sessions, keyring, http, cloud, clock,
                                                                               settings, pro):
    assert settings.repair.endpoint_failures == 3
    async with health_server() as server:
        row = await watched_instance(sessions, keyring, http, clock, settings, pro,
                                     url=f"http://127.0.0.1:{server.port}/health")
        await run_cycle(sessions, keyring, http, settings, clock)
        server.status = 500  # the service on the instance hangs; the machine itself runs
        for _ in range(3):
            clock.advance(30)
            await run_cycle(sessions, keyring, http, settings, clock)

        found = await checks(sessions, row.id)
        assert [(c.healthy, c.endpoint_ok) for c in found] == [(True, True), (False, False), (False, False),
                                                               (False, False)]
        assert found[1].detail.endswith("the health endpoint failed 1 of 3 checks in a row before a repair")
        assert [(a.attempt, a.action, a.result) for a in await actions(sessions, row.id)] == [(1, "reboot", "ok")]
        assert cloud.get_instance(pro.api_key, row.provider_instance_id)["status"] == "rebooting"

        server.status = 200  # the reboot helped
        clock.advance(30)
        await run_cycle(sessions, keyring, http, settings, clock)
        row = await reload(sessions, row.id)
        assert (row.status, row.repair_state) == ("running", "ok")
        assert (await checks(sessions, row.id))[-1].endpoint_ok is True


@pytest.mark.parametrize("failures_before", [0, 2])
async def test_a_healthy_answer_resets_the_count(sessions, keyring, http, cloud, clock, settings, pro, failures_before):
    async with health_server() as server:
        row = await watched_instance(sessions, keyring, http, clock, settings, pro,
                                     url=f"http://127.0.0.1:{server.port}/")
        for status in [500] * failures_before + [200, 500, 500]:
            server.status = status
            await run_cycle(sessions, keyring, http, settings, clock)
            clock.advance(30)
        assert await actions(sessions, row.id) == []
