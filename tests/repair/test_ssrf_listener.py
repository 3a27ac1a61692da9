"""SSRF, end to end: a listener on 127.0.0.1 gets no connection, whatever a user types.

A logged-in Pro user tries every spelling below, on a sandbox instance and on an instance at a
real provider (Lambda, its API mocked), in the local mode where the sandbox is on (the mode the
old sandbox exemption let loopback through in):
- through the instance page's auto-repair form: each one is refused with a 400 and a reason;
- through the background check: the URL is written straight into the row (as an old row, an
  import or a bug elsewhere might have), then the job runs: no connection, the check is stored
  as "endpoint not checked" with the reason.
Names resolve through a replaced resolver (no DNS in tests) to the addresses given below.
"""

from __future__ import annotations

import asyncio
import socket
from contextlib import asynccontextmanager

import respx
from sqlalchemy import select, update

from app.db.models import HealthCheck, Instance
from app.repair import endpoint
from tests.repair.support import lambda_api, lambda_instance, reload, run_cycle, running_instance
from tests.web.html import parse_html

NAMES = {  # what the replaced resolver answers
    "localhost": ["127.0.0.1", "::1"],
    "rebind.example.com": ["127.0.0.1"],
    "mixed.example.com": ["93.184.215.14", "127.0.0.1"],
    "mixed6.example.com": ["2606:4700:4700::1111", "::ffff:127.0.0.1"],
    "metadata.google.internal": ["169.254.169.254"],
    "internal.example.com": ["10.0.0.5"],
    "nat64.example.com": ["64:ff9b::7f00:1"],
}


def spellings(port: int) -> list[str]:
    p = port
    return [
        # loopback, at the listener's port
        f"http://127.0.0.1:{p}/health", f"https://127.0.0.1:{p}/", f"tcp://127.0.0.1:{p}", f"HTTP://127.0.0.1:{p}/",
        f"http://localhost:{p}/", f"http://LOCALHOST:{p}/", f"http://localhost.:{p}/", f"tcp://localhost:{p}",
        f"http://127.0.0.1.:{p}/", f"http://127.1:{p}/", f"http://127.0.1:{p}/", f"http://127.000.000.001:{p}/",
        f"http://2130706433:{p}/", f"tcp://2130706433:{p}", f"http://0x7f000001:{p}/", f"http://0x7f.0x0.0x0.0x1:{p}/",
        f"http://0177.0.0.1:{p}/", f"http://017700000001:{p}/", f"http://0:{p}/", f"http://0.0.0.0:{p}/",
        f"tcp://0.0.0.0:{p}", f"http://[::1]:{p}/", f"tcp://[::1]:{p}", f"http://[::]:{p}/",
        f"http://[::ffff:127.0.0.1]:{p}/", f"http://[0:0:0:0:0:ffff:7f00:1]:{p}/", f"tcp://[::ffff:7f00:1]:{p}",
        f"http://[::127.0.0.1]:{p}/", f"http://[64:ff9b::127.0.0.1]:{p}/", f"http://[2002:7f00:1::1]:{p}/",
        f"http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{p}/", f"http://[::1%25lo]:{p}/",
        f"http://[fe80::1%25eth0]:{p}/",
        # parser confusion: user info, fragments, backslashes, encodings, control characters
        f"http://evil.example.com@127.0.0.1:{p}/", f"http://127.0.0.1:{p}#@evil.example.com/",
        f"http://evil.example.com\\@127.0.0.1:{p}/", f"http://127.0.0.1:{p}\\@evil.example.com/",
        f"http://%31%32%37.0.0.1:{p}/", f"http://１２７.０.０.１:{p}/", f"http://127。0。0。1:{p}/",
        f"http://127.0.0.1\t:{p}/", f"http://127.0.0.1:{p}\n/",
        # names that resolve to loopback, wholly or in part
        f"http://rebind.example.com:{p}/", f"http://mixed.example.com:{p}/", f"tcp://mixed6.example.com:{p}",
        f"http://nat64.example.com:{p}/",
        # private networks and cloud metadata
        "http://169.254.169.254/latest/meta-data/", f"http://169.254.169.254:{p}/", "http://2852039166/",
        "http://0xa9fea9fe/", "http://[::ffff:169.254.169.254]/", "http://[fd00:ec2::254]/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/", "http://100.100.100.200/latest/meta-data/",
        f"http://10.0.0.1:{p}/", "http://192.168.1.1/", "http://172.16.0.1/", "http://100.64.0.1/",
        "http://198.18.0.1/", "http://192.0.0.1/", "http://192.0.2.1/", "http://[fc00::1]/", f"http://[fe80::1]:{p}/",
        "http://224.0.0.1/", "http://255.255.255.255/", "http://[64:ff9b:1::a00:1]/", "http://internal.example.com/",
    ]


class Listener:
    def __init__(self) -> None:
        self.connections = 0

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        writer.close()


@asynccontextmanager
async def listening():
    """A real listener on a free port of 127.0.0.1 (and the same port of ::1 where it is free)."""
    listener = Listener()
    servers = [await asyncio.start_server(listener.accept, "127.0.0.1", 0)]
    port = servers[0].sockets[0].getsockname()[1]
    try:
        servers.append(await asyncio.start_server(listener.accept, "::1", port, family=socket.AF_INET6))
    except OSError:
        pass
    try:
        yield listener, port
    finally:
        for server in servers:
            server.close()
            await server.wait_closed()


async def resolve(host: str, port: int) -> list[str]:
    if host.lower().rstrip(".") in NAMES:
        return NAMES[host.lower().rstrip(".")]
    raise OSError("no such name in this test")


async def test_no_spelling_of_a_private_address_reaches_the_listener(sessions, keyring, http, cloud, clock, settings,
                                                                    pro, as_pro, monkeypatch):
    assert settings.sandbox.enabled  # the mode the old exemption applied in
    monkeypatch.setattr(endpoint, "resolve_host", resolve)
    sandbox_row = await running_instance(sessions, keyring, http, clock, pro)
    lambda_row = await lambda_instance(sessions, keyring, pro)
    rows = [sandbox_row.id, lambda_row.id]

    async with listening() as (listener, port):
        urls = spellings(port)
        assert len(urls) >= 40

        with respx.mock(assert_all_called=False) as router:
            lambda_api(router)
            # A probe that got past the gate would really connect to the listener.
            router.route(host="127.0.0.1").pass_through()
            router.route(host="::1").pass_through()

            # 1. The form: every spelling refused with a 400 and a reason, nothing saved.
            for url in urls:
                for instance_id in rows:
                    response = await as_pro.post(f"/console/instances/{instance_id}/auto-repair",
                                                 {"auto_repair": "on", "health_check_url": url})
                    assert response.status_code == 400, (url, instance_id, response.status_code)
                    alert = parse_html(response.text).one(id="auto-repair").one(role="alert").text.strip()
                    assert alert, url
                    saved = await reload(sessions, instance_id)
                    assert (saved.auto_repair, saved.health_check_url) == (False, None), url

            # 2. The background check: the URL already in the row; the job refuses it at check time.
            for url in urls:
                async with sessions() as session, session.begin():
                    await session.execute(update(Instance).where(Instance.id.in_(rows))
                                          .values(auto_repair=True, health_check_url=url))
                before = {instance_id: await _check_count(sessions, instance_id) for instance_id in rows}
                await run_cycle(sessions, keyring, http, settings, clock)
                for instance_id in rows:
                    assert await _check_count(sessions, instance_id) == before[instance_id] + 1, url  # no crash
                    check = await _last_check(sessions, instance_id)
                    assert check.endpoint_ok is None, (url, check.detail)
                    assert "endpoint not checked: " in check.detail, (url, check.detail)
                clock.advance(30)

        await asyncio.sleep(0.1)  # a connection in flight would be counted by now
        assert listener.connections == 0


async def _check_count(sessions, instance_id: int) -> int:
    async with sessions() as session:
        return len((await session.execute(select(HealthCheck.id).where(HealthCheck.instance_id == instance_id))).all())


async def _last_check(sessions, instance_id: int) -> HealthCheck | None:
    async with sessions() as session:
        return (await session.execute(select(HealthCheck).where(HealthCheck.instance_id == instance_id)
                                      .order_by(HealthCheck.id.desc()).limit(1))).scalar()
