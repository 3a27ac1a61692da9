"""The network probe of a vetted endpoint, against real servers on this machine.

Loopback is refused by the vetting, so each test here lets it through by replacing the
classifier for that test only (``let_loopback_through``); product code never does.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import time
from contextlib import asynccontextmanager

import pytest

from app.repair import endpoint
from app.repair.endpoint import parse_endpoint, vet_url
from app.repair.probe import probe, request_target
from tests.repair.support import let_loopback_through


@pytest.fixture
def allow_loopback(monkeypatch):
    let_loopback_through(monkeypatch)


class Server:
    """A raw TCP server whose behaviour a test sets: what it records, what it answers."""

    def __init__(self, answer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[str] = []
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.requests.append(head.decode("latin-1"))
            await self.answer(writer)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def serve(answer, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None):
    state = Server(answer)
    server = await asyncio.start_server(state.handle, host, 0, ssl=ssl_context)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()


def status(code: int, headers: str = ""):
    async def answer(writer: asyncio.StreamWriter) -> None:
        writer.write(f"HTTP/1.1 {code} X\r\n{headers}Content-Length: 2\r\nConnection: close\r\n\r\nok".encode())
        await writer.drain()

    return answer


async def checked(url: str, timeout: float = 2):
    # A guard above the probe's own bound: a probe that never returns fails the test, not the run.
    return await asyncio.wait_for(probe(await vet_url(url), timeout), timeout + 3)


async def test_http_probe_wants_a_2xx_and_names_the_users_host(allow_loopback):
    async with serve(status(200)) as server:
        result = await checked(f"http://GPU.example.com:{server.port}/health?deep=1")
        assert (result.ok, result.detail) == (True, "HTTP 200")
        head = server.requests[0].lower()
        assert head.startswith("get /health?deep=1 http/1.1")
        assert f"\r\nhost: gpu.example.com:{server.port}\r\n" in head
    async with serve(status(503)) as server:
        result = await checked(f"http://gpu.example.com:{server.port}/")
        assert (result.ok, result.detail) == (False, "HTTP 503 (expected 2xx)")


async def test_the_host_header_of_an_ipv6_literal_is_bracketed(allow_loopback):
    async with serve(status(204), host="::1") as server:
        result = await checked(f"http://[::1]:{server.port}/h")
        assert result.ok
        assert f"\r\nhost: [::1]:{server.port}\r\n" in server.requests[0].lower()


def test_the_request_goes_to_the_vetted_address_under_the_users_host_name():
    url, headers, extensions = request_target(parse_endpoint("http://[2001:db8::1]:8080/h"),
                                              ipaddress.ip_address("2001:db8::1"))
    assert (url, headers["Host"], extensions) == ("http://[2001:db8::1]:8080/h", "[2001:db8::1]:8080", {})
    url, headers, extensions = request_target(parse_endpoint("https://gpu.example.com/h"),
                                              ipaddress.ip_address("93.184.215.14"))
    assert (url, headers["Host"], extensions) == ("https://93.184.215.14:443/h", "gpu.example.com",
                                                  {"sni_hostname": "gpu.example.com"})


async def test_the_probe_connects_to_the_vetted_address_without_a_second_lookup(allow_loopback, monkeypatch):
    calls = []

    async def rebinding(host: str, port: int) -> list[str]:  # DNS rebinding: public once, then internal
        calls.append(host)
        return ["127.0.0.1"] if len(calls) == 1 else ["169.254.169.254"]

    monkeypatch.setattr(endpoint, "resolve_host", rebinding)
    async with serve(status(200)) as server:
        result = await checked(f"http://rebind.example.com:{server.port}/")
    assert (result.ok, calls, server.connections) == (True, ["rebind.example.com"], 1)


async def test_a_redirect_is_not_followed(allow_loopback):
    async with serve(status(200)) as elsewhere:
        async with serve(status(302, f"Location: http://127.0.0.1:{elsewhere.port}/\r\n")) as server:
            result = await checked(f"http://127.0.0.1:{server.port}/")
        assert (result.ok, result.detail) == (False, "HTTP 302: a redirect, not followed (expected 2xx)")
        assert elsewhere.connections == 0


async def test_an_endless_body_is_not_read(allow_loopback):
    sent = []

    async def endless(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n")
        chunk = b"x" * 65536
        while True:  # until the probe hangs up
            writer.write(chunk)
            await writer.drain()
            sent.append(len(chunk))

    async with serve(endless) as server:
        started = time.monotonic()
        result = await checked(f"http://127.0.0.1:{server.port}/", timeout=5)
        elapsed = time.monotonic() - started
        await asyncio.sleep(0.2)  # the server notices the closed connection
    assert (result.ok, result.detail) == (True, "HTTP 200")
    assert elapsed < 2  # it answered at once, without waiting for the body
    assert sum(sent) < 64 * 1024 * 1024  # and hung up: the server could not push it much


async def test_the_whole_check_is_bounded_not_each_read(allow_loopback):
    async def trickle(writer: asyncio.StreamWriter) -> None:
        # A byte every 0.1 s: each read finishes well within the timeout, the answer never does.
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.1)

    async with serve(trickle) as server:
        started = time.monotonic()
        result = await checked(f"http://127.0.0.1:{server.port}/", timeout=1)
        elapsed = time.monotonic() - started
    assert (result.ok, result.detail) == (False, "no answer within 1 s")
    assert elapsed < 1.8


async def test_tcp_probe_wants_a_connection(allow_loopback):
    async with serve(status(200)) as server:
        assert (await checked(f"tcp://127.0.0.1:{server.port}")).ok
        port = server.port
    result = await checked(f"tcp://127.0.0.1:{port}")  # closed now
    assert not result.ok and result.detail.startswith(f"TCP connection to port {port} refused or unreachable")


async def test_tls_is_verified_against_the_users_host_name(allow_loopback, tmp_path, monkeypatch):
    ca_file, server_context = _tls_for("gpu.example.com", tmp_path)
    monkeypatch.setattr("certifi.where", lambda: str(ca_file))  # trust the test CA only
    seen = []
    server_context.sni_callback = lambda sock, name, ctx: seen.append(name)

    async with serve(status(200), ssl_context=server_context) as server:
        good = await checked(f"https://gpu.example.com:{server.port}/")
        wrong = await checked(f"https://other.example.com:{server.port}/")  # same address, other name
        literal = await checked(f"https://127.0.0.1:{server.port}/")  # the certificate does not name the IP
    assert (good.ok, good.detail) == (True, "HTTP 200")
    assert not wrong.ok and not literal.ok
    assert seen[:2] == ["gpu.example.com", "other.example.com"]


def _tls_for(host: str, directory) -> tuple[object, ssl.SSLContext]:
    """A throw-away CA and a certificate it signed for ``host``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_file, cert_file, key_file = directory / "ca.pem", directory / "leaf.pem", directory / "leaf.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return ca_file, context
