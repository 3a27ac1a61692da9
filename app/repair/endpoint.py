"""The user's health endpoint: ``http(s)://host[:port]/path`` (expects a 2xx) or ``tcp://host:port``.

ComputeHub's workers make these requests, so an endpoint must never point them at our own
network (SSRF), for any provider and in any mode. ``vet_url`` is the one gate: it runs when the
user saves the URL and again before every check (DNS and the rules can change in between), and
it returns the addresses it vetted, which are the only ones a probe connects to (no second
lookup, so a name cannot resolve to a public address for the check and a private one for the
connection).

The parser is strict on purpose. Every spelling that some library might read as another host
is refused instead of interpreted: user names (``evil@127.0.0.1``), fragments, backslashes,
percent-encoding, control characters, zone ids, unbracketed IPv6, and IPv4 in any form but four
decimal numbers (``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``127.1``). Non-ASCII names are
IDNA-encoded first, so full-width digits become the ASCII address they stand for and are vetted
as such.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass

from app.repair.addresses import IPAddress, refusal

MAX_URL_LENGTH = 512
SCHEMES = {"http": 80, "https": 443, "tcp": None}
PUBLIC_ONLY = "ComputeHub only checks endpoints on public addresses"

_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<path>[^?#]*)"
                  r"(?:\?(?P<query>[^#]*))?(?P<fragment>#.*)?", re.DOTALL)
_PORT = re.compile(r"[0-9]{1,5}", re.ASCII)
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*", re.ASCII)
_LOCAL_NAMES = ("localhost", "localhost.localdomain")


class EndpointRefused(ValueError):
    """A health endpoint ComputeHub will not check; the message is shown to the user as is."""


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    host: str
    """A lower-case ASCII host name, or an IP address without brackets."""
    port: int
    path: str = "/"
    """Path and query (http and https only)."""

    @property
    def is_ip(self) -> bool:
        return _ip_or_none(self.host) is not None

    @property
    def authority(self) -> str:
        """``host[:port]`` as a URL and a ``Host`` header write it: IPv6 in brackets, default port left out."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == SCHEMES[self.scheme] else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        if self.scheme == "tcp":
            return f"tcp://{self.authority}"
        return f"{self.scheme}://{self.authority}{self.path}"


@dataclass(frozen=True)
class VettedEndpoint:
    endpoint: Endpoint
    addresses: tuple[IPAddress, ...]
    """Every address the host resolved to, all public: the only ones a probe may connect to."""


def parse_endpoint(raw: str) -> Endpoint:
    """Syntax only (no DNS): raises ``EndpointRefused`` naming what is wrong."""
    raw = (raw or "").strip()
    if len(raw) > MAX_URL_LENGTH:
        raise EndpointRefused(f"the health endpoint may have at most {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in raw) or "\\" in raw:
        raise EndpointRefused("the health endpoint may not contain spaces, control characters or backslashes")
    match = _URL.fullmatch(raw)
    if match is None or match["scheme"].lower() not in SCHEMES:
        raise EndpointRefused("the health endpoint must start with http://, https:// or tcp://")
    scheme = match["scheme"].lower()
    if match["fragment"] is not None:
        raise EndpointRefused("the health endpoint may not contain a fragment (#...)")
    authority = match["authority"]
    if "@" in authority:
        raise EndpointRefused("the health endpoint may not contain a user name or password")
    host, port = _split_authority(authority)
    host = _parse_host(host)
    if port is None:
        port = SCHEMES[scheme]
    if scheme == "tcp":
        if port is None:
            raise EndpointRefused("a tcp:// health endpoint needs a port, e.g. tcp://gpu.example.com:22")
        if match["path"] not in ("", "/") or match["query"] is not None:
            raise EndpointRefused("a tcp:// health endpoint is just tcp://host:port, without a path")
        return Endpoint("tcp", host, port, "")
    path = (match["path"] or "/") + (f"?{match['query']}" if match["query"] is not None else "")
    if not path.isascii():
        raise EndpointRefused("the health endpoint's path must be ASCII (percent-encode other characters)")
    return Endpoint(scheme, host, port, path)


def _split_authority(authority: str) -> tuple[str, int | None]:
    if authority.startswith("["):
        host, bracket, rest = authority[1:].partition("]")
        if not bracket:
            raise EndpointRefused("the health endpoint's IPv6 address lacks its closing bracket")
        if not _is_ipv6(host):
            raise EndpointRefused(f"[{host}] is not an IPv6 address without a zone id")
        if rest and not rest.startswith(":"):
            raise EndpointRefused("the health endpoint's host is not valid")
        return host, _port(rest[1:]) if rest else None
    if authority.count(":") > 1:
        raise EndpointRefused("an IPv6 address must be written in brackets, e.g. http://[2001:db8::7]:8080/")
    host, colon, port = authority.partition(":")
    return host, _port(port) if colon else None


def _port(text: str) -> int:
    if not _PORT.fullmatch(text) or not 1 <= int(text) <= 65535:
        raise EndpointRefused("the health endpoint's port must be 1-65535")
    return int(text)


def _is_ipv6(text: str) -> bool:
    if "%" in text:  # a zone id names an interface of this machine
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _parse_host(host: str) -> str:
    if _is_ipv6(host):
        return str(ipaddress.IPv6Address(host))
    if not host:
        raise EndpointRefused("the health endpoint needs a host name or an IP address")
    if "%" in host:
        raise EndpointRefused("the health endpoint's host may not be percent-encoded")
    if not host.isascii():
        try:  # IDNA (with NFKC): full-width digits and dots become the ASCII they stand for
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise EndpointRefused(f"{host!r} is not a valid host name") from None
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]
    labels = host.split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        # Ends in a number: an IPv4 address to every URL parser and resolver. Only the usual
        # dotted form is accepted, so there is exactly one spelling of each address.
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            raise EndpointRefused(f"{host} is not an IPv4 address in the usual form: write four numbers "
                                  "0-255 without leading zeros, e.g. 203.0.113.7") from None
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise EndpointRefused(f"{host!r} is not a valid host name")
    return host


def _ip_or_none(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (tests replace this; it is the only DNS lookup)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


async def vet_url(raw: str, *, timeout: float = 5.0) -> VettedEndpoint:
    """Parse ``raw``, resolve its host once and vet every address; raises ``EndpointRefused``.

    The one check for a user's endpoint: on save and before every probe.
    """
    endpoint = parse_endpoint(raw)
    literal = _ip_or_none(endpoint.host)
    if literal is not None:
        addresses = [literal]
    else:
        if endpoint.host in _LOCAL_NAMES or endpoint.host.endswith(".localhost"):
            raise EndpointRefused(f"{endpoint.host} is this machine: {PUBLIC_ONLY}")
        try:
            found = await asyncio.wait_for(resolve_host(endpoint.host, endpoint.port), timeout)
            addresses = list(dict.fromkeys(ipaddress.ip_address(a) for a in found))
        except (OSError, ValueError, asyncio.TimeoutError):
            raise EndpointRefused(f"the host name {endpoint.host} does not resolve") from None
        if not addresses:
            raise EndpointRefused(f"the host name {endpoint.host} does not resolve")
    for ip in addresses:
        reason = refusal(ip)
        if reason:
            where = endpoint.host if literal is not None else f"{endpoint.host} resolves to {ip}, which"
            raise EndpointRefused(f"{where} is {reason}: {PUBLIC_ONLY}")
    return VettedEndpoint(endpoint, tuple(addresses))
