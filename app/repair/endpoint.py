"""The user's health endpoint: ``http(s)://host[:port]/path`` (expects a 2xx) or ``tcp://host:port``.

ComputeHub's workers make these requests, so an endpoint must never point them at our own
network (SSRF): every address a host name resolves to must be public. The check runs when the
user saves the URL and again before every probe (DNS can change in between), and the probe
connects to the very address that was vetted, so a name cannot resolve once to a public address
for the check and then to a private one for the connection. Redirects are not followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from providers.http import USER_AGENT

MAX_URL_LENGTH = 512
SCHEMES = {"http": 80, "https": 443, "tcp": None}
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class EndpointRefused(ValueError):
    """A health endpoint ComputeHub will not check; the message is shown to the user as is."""


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    host: str
    """A host name, or an IP address without brackets."""
    port: int
    path: str = "/"
    """Path and query (http and https only)."""

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.scheme == "tcp":
            return f"tcp://{host}:{self.port}"
        default = SCHEMES[self.scheme]
        return f"{self.scheme}://{host}{'' if self.port == default else f':{self.port}'}{self.path}"


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str


def parse_endpoint(raw: str) -> Endpoint:
    """Syntax only (no DNS): raises ``EndpointRefused`` naming what is wrong."""
    raw = (raw or "").strip()
    if len(raw) > MAX_URL_LENGTH:
        raise EndpointRefused(f"the health endpoint may have at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise EndpointRefused("the health endpoint is not a valid URL (the port must be 1-65535)") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise EndpointRefused("the health endpoint must start with http://, https:// or tcp://")
    if parts.username is not None or parts.password is not None:
        raise EndpointRefused("the health endpoint may not contain a user name or password")
    host = parts.hostname or ""
    if not _is_ip(host):
        host = host.rstrip(".")
    if not host:
        raise EndpointRefused("the health endpoint needs a host name or an IP address")
    if not _is_ip(host) and not _HOSTNAME.match(host):
        raise EndpointRefused(f"{host!r} is not a valid host name")
    if port == 0:
        raise EndpointRefused("the health endpoint's port must be 1-65535")
    if scheme == "tcp":
        if port is None:
            raise EndpointRefused("a tcp:// health endpoint needs a port, e.g. tcp://203.0.113.7:22")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise EndpointRefused("a tcp:// health endpoint is just tcp://host:port, without a path")
        return Endpoint("tcp", host.lower(), port, "")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Endpoint(scheme, host.lower(), port or SCHEMES[scheme], path)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def refusal(ip: IPAddress) -> str | None:
    """Why ComputeHub will not connect to ``ip`` (None: a public address)."""
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4 carried inside IPv6 (mapped, 6to4, Teredo) is judged as the IPv4 address it is.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return refusal(embedded)
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_reserved, "a reserved address"),
        (ip.is_private, "a private address"),
        (not ip.is_global, "not a public address"),
    )
    return next((reason for refused, reason in checks if refused), None)


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (tests replace this; it is the only DNS lookup)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


async def vet(endpoint: Endpoint, *, allow_private: bool = False, timeout: float = 5.0) -> list[IPAddress]:
    """The addresses to connect to; raises ``EndpointRefused`` if any of them is not public.

    ``allow_private`` is only for the simulated sandbox cloud in local runs, whose instances
    live on this machine or on documentation addresses.
    """
    if _is_ip(endpoint.host):
        addresses = [ipaddress.ip_address(endpoint.host)]
    else:
        try:
            found = await asyncio.wait_for(resolve_host(endpoint.host, endpoint.port), timeout)
        except (OSError, asyncio.TimeoutError):
            raise EndpointRefused(f"the host name {endpoint.host} does not resolve") from None
        # A scope suffix ("fe80::1%eth0") is not part of the address.
        addresses = list(dict.fromkeys(ipaddress.ip_address(a.split("%", 1)[0]) for a in found))
        if not addresses:
            raise EndpointRefused(f"the host name {endpoint.host} does not resolve")
    if not allow_private:
        for ip in addresses:
            reason = refusal(ip)
            if reason:
                where = endpoint.host if _is_ip(endpoint.host) else f"{endpoint.host} resolves to {ip}, which"
                raise EndpointRefused(f"{where} is {reason}: ComputeHub only checks endpoints on public addresses")
    return addresses


def allows_private_endpoint(sandbox_enabled: bool, provider: str) -> bool:
    """The simulated sandbox in local runs lives on this machine: the only exception to the guard."""
    return sandbox_enabled and provider == "sandbox"


async def validate_url(raw: str, *, allow_private: bool = False, timeout: float = 5.0) -> str:
    """The URL as stored (normalised), after the same checks a probe makes."""
    endpoint = parse_endpoint(raw)
    await vet(endpoint, allow_private=allow_private, timeout=timeout)
    return endpoint.url


async def probe(endpoint: Endpoint, address: IPAddress, timeout: float) -> ProbeResult:
    """Connect to ``address`` (already vetted) as ``endpoint`` says; never raises."""
    if endpoint.scheme == "tcp":
        return await _probe_tcp(endpoint, address, timeout)
    return await _probe_http(endpoint, address, timeout)


async def _probe_tcp(endpoint: Endpoint, address: IPAddress, timeout: float) -> ProbeResult:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(str(address), endpoint.port), timeout)
    except asyncio.TimeoutError:
        return ProbeResult(False, f"no TCP connection to port {endpoint.port} within {timeout:g} s")
    except OSError as exc:
        return ProbeResult(False, f"TCP connection to port {endpoint.port} refused or unreachable ({exc.strerror or 'error'})")
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return ProbeResult(True, f"TCP port {endpoint.port} accepts connections")


async def _probe_http(endpoint: Endpoint, address: IPAddress, timeout: float) -> ProbeResult:
    host = f"[{address}]" if address.version == 6 else str(address)
    url = f"{endpoint.scheme}://{host}:{endpoint.port}{endpoint.path}"
    default_port = SCHEMES[endpoint.scheme]
    headers = {"Host": endpoint.host if endpoint.port == default_port else f"{endpoint.host}:{endpoint.port}",
               "User-Agent": f"{USER_AGENT} health-check"}
    # TLS is verified against the name the user gave, while the socket goes to the vetted address.
    extensions = {"sni_hostname": endpoint.host} if endpoint.scheme == "https" and not _is_ip(endpoint.host) else {}
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            async with client.stream("GET", url, headers=headers, extensions=extensions) as response:
                status = response.status_code  # the body is never read: only the status matters
    except httpx.TimeoutException:
        return ProbeResult(False, f"no answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        return ProbeResult(False, f"cannot connect ({type(exc).__name__})")
    if 200 <= status < 300:
        return ProbeResult(True, f"HTTP {status}")
    return ProbeResult(False, f"HTTP {status} (expected 2xx)")
