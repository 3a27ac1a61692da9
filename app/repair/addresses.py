"""Which IP addresses ComputeHub's workers may connect to for a health check: globally routable ones.

Explicit tables (after the IANA special-purpose registries), not only ``ipaddress``'s flags: those
change between Python versions and count multicast as global. IPv6 forms that carry an IPv4
address (mapped, compatible, NAT64, 6to4, Teredo) are judged by the IPv4 address inside them, so
``::ffff:127.0.0.1`` or ``2002:7f00:1::`` is as refused as ``127.0.0.1``.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_net = ipaddress.ip_network
_REFUSED_V4: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple((_net(net), reason) for net, reason in (
    ("0.0.0.0/8", "an unspecified address"),
    ("10.0.0.0/8", "a private address"),
    ("100.64.0.0/10", "a shared address (carrier-grade NAT)"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local address"),
    ("172.16.0.0/12", "a private address"),
    ("192.0.0.0/24", "an IETF protocol address"),
    ("192.0.2.0/24", "a documentation address"),
    ("192.88.99.0/24", "a reserved address"),  # the retired 6to4 relay anycast
    ("192.168.0.0/16", "a private address"),
    ("198.18.0.0/15", "a benchmarking address"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("224.0.0.0/4", "a multicast address"),
    ("240.0.0.0/4", "a reserved address"),  # includes the broadcast 255.255.255.255
))
_REFUSED_V6: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple((_net(net), reason) for net, reason in (
    ("::/128", "an unspecified address"),
    ("::1/128", "a loopback address"),
    ("64:ff9b:1::/48", "a local-use NAT64 address"),
    ("100::/64", "a discard-only address"),
    ("2001::/23", "an IETF protocol address"),
    ("2001:db8::/32", "a documentation address"),
    ("3fff::/20", "a documentation address"),
    ("5f00::/16", "a segment-routing address"),
    ("fc00::/7", "a private address"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a site-local address"),
    ("ff00::/8", "a multicast address"),
))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")


def refusal(ip: IPAddress) -> str | None:
    """Why ComputeHub will not connect to ``ip``, e.g. "a loopback address"; None for a public address."""
    if ip.version == 4:
        return _refusal_v4(ip)
    if ip.scope_id:
        return "an address with a zone (scope) id"
    embedded = _embedded_v4(ip)
    if embedded is not None:
        form, v4 = embedded
        reason = _refusal_v4(v4)
        if reason:
            return f"{form} of {v4}, {reason}"
        if form == "the IPv4-compatible form":  # deprecated: never reaches the IPv4 host
            return "a deprecated IPv4-compatible address"
        if form in ("the IPv4-mapped form", "the NAT64 form"):
            return None  # the connection goes to the public IPv4 address inside it
    for network, reason in _REFUSED_V6:
        if ip in network:
            return reason
    if ip not in _GLOBAL_UNICAST_V6:
        return "a reserved address"
    return None if ip.is_global else "not a public address"


def _refusal_v4(ip: ipaddress.IPv4Address) -> str | None:
    for network, reason in _REFUSED_V4:
        if ip in network:
            return reason
    return None if ip.is_global else "not a public address"


def _embedded_v4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address carries, with the name of the form."""
    if ip.ipv4_mapped is not None:
        return "the IPv4-mapped form", ip.ipv4_mapped
    if ip in _NAT64:
        return "the NAT64 form", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:  # "::" and "::1" are themselves, not IPv4
        return "the IPv4-compatible form", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return "the 6to4 form", ip.sixtofour
    if ip.teredo is not None:
        server, client = ip.teredo
        # Either end private makes the address refused; otherwise 2001::/23 refuses it below.
        worst = client if _refusal_v4(client) else server
        return "the Teredo form", worst
    return None
