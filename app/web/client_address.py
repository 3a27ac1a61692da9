"""The client's address: the socket peer, unless that peer is one of our own reverse proxies.

Only a proxy listed in ``COMPUTEHUB_TRUSTED_PROXIES`` is believed about who its client was.
X-Forwarded-For is read from the right (each proxy appends the peer it saw), skipping our own
proxies; the first address that is not one of them is the client. Anything left of it was
written by the client and proves nothing. With no trusted proxies (the default) the header is
ignored: a client that sends its own X-Forwarded-For only names itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv6Address, ip_address

from litestar.connection import ASGIConnection

from app.settings import IPNetwork

IPAddress = IPv4Address | IPv6Address


def parse_address(text: str) -> IPAddress | None:
    """An address as a proxy may write it ("1.2.3.4", "1.2.3.4:567", "[::1]:567", "::1"), with
    IPv4-mapped IPv6 ("::ffff:1.2.3.4") read as the IPv4 address it is; None when it is no address."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.split(":", 1)[0]
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, proxies: Sequence[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def resolve_client_address(peer: str, forwarded_for: Iterable[str], proxies: Sequence[IPNetwork]) -> str:
    """The client address from the socket peer and the X-Forwarded-For header lines."""
    current = parse_address(peer)
    if current is None:  # not an IP peer (a Unix socket, a test client): nothing to vet
        return peer or "unknown"
    if not _trusted(current, proxies):
        return str(current)
    hops = [hop for line in forwarded_for for hop in line.split(",")]
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:  # garbage to the right of every trusted hop: stop at the last proxy
            break
        current = address
        if not _trusted(current, proxies):
            break
    return str(current)


def client_address(connection: ASGIConnection) -> str:
    """The client address of a request, under the app's trusted-proxy settings."""
    proxies = connection.app.state.settings.security.trusted_proxies
    peer = connection.client.host if connection.client else ""
    return resolve_client_address(peer, connection.headers.getall("x-forwarded-for", []), proxies)
