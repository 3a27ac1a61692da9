"""One health check over the network: a connection to an address ``endpoint.vet_url`` vetted.

Bounded on every side: the whole check (connect, TLS, request, answer head) must finish within
the timeout, not each step; redirects are not followed (they could lead anywhere); the body is
never read, only the status line and headers (the HTTP parser caps those at 16 KiB and reads the
socket in chunks of at most 64 KiB). TLS is verified against the host name the user gave while
the socket goes to the vetted address.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from app.repair.addresses import IPAddress
from app.repair.endpoint import Endpoint, VettedEndpoint
from providers.http import USER_AGENT


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str


async def probe(vetted: VettedEndpoint, timeout: float) -> ProbeResult:
    """Check ``vetted.endpoint`` at its first vetted address; never raises."""
    endpoint, address = vetted.endpoint, vetted.addresses[0]
    try:
        async with asyncio.timeout(timeout):
            if endpoint.scheme == "tcp":
                return await _probe_tcp(endpoint, address)
            return await _probe_http(endpoint, address, timeout)
    except TimeoutError:
        return ProbeResult(False, f"no answer within {timeout:g} s")


async def _probe_tcp(endpoint: Endpoint, address: IPAddress) -> ProbeResult:
    try:
        _, writer = await asyncio.open_connection(str(address), endpoint.port)
    except OSError as exc:
        return ProbeResult(False, f"TCP connection to port {endpoint.port} refused or unreachable "
                                  f"({exc.strerror or 'error'})")
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return ProbeResult(True, f"TCP port {endpoint.port} accepts connections")


def request_target(endpoint: Endpoint, address: IPAddress) -> tuple[str, dict[str, str], dict[str, str]]:
    """(URL to the vetted address, headers naming the user's host, TLS extensions) for an HTTP probe."""
    host = f"[{address}]" if address.version == 6 else str(address)
    url = f"{endpoint.scheme}://{host}:{endpoint.port}{endpoint.path}"
    headers = {"Host": endpoint.authority, "User-Agent": f"{USER_AGENT} health-check"}
    # SNI and certificate checks use the name the user gave (an IP literal is checked as itself).
    extensions = {"sni_hostname": endpoint.host} if endpoint.scheme == "https" and not endpoint.is_ip else {}
    return url, headers, extensions


async def _probe_http(endpoint: Endpoint, address: IPAddress, timeout: float) -> ProbeResult:
    url, headers, extensions = request_target(endpoint, address)
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            async with client.stream("GET", url, headers=headers, extensions=extensions) as response:
                status = response.status_code  # leaving the block closes the connection unread
    except httpx.TimeoutException:
        return ProbeResult(False, f"no answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        return ProbeResult(False, f"cannot connect ({type(exc).__name__})")
    if 200 <= status < 300:
        return ProbeResult(True, f"HTTP {status}")
    if 300 <= status < 400:
        return ProbeResult(False, f"HTTP {status}: a redirect, not followed (expected 2xx)")
    return ProbeResult(False, f"HTTP {status} (expected 2xx)")
