"""The address classifier: only globally routable addresses pass, IPv4 inside IPv6 is judged as IPv4."""

from __future__ import annotations

import ipaddress

import pytest

from app.repair.addresses import refusal

REFUSED = [
    # IPv4 special-purpose ranges
    ("0.0.0.0", "an unspecified address"),
    ("0.1.2.3", "an unspecified address"),
    ("10.0.0.1", "a private address"),
    ("100.64.0.1", "a shared address (carrier-grade NAT)"),
    ("100.100.100.200", "a shared address (carrier-grade NAT)"),  # a cloud's metadata service
    ("100.127.255.254", "a shared address (carrier-grade NAT)"),
    ("127.0.0.1", "a loopback address"),
    ("127.255.255.254", "a loopback address"),
    ("169.254.169.254", "a link-local address"),
    ("172.16.0.1", "a private address"),
    ("172.31.255.255", "a private address"),
    ("192.0.0.1", "an IETF protocol address"),
    ("192.0.0.9", "an IETF protocol address"),
    ("192.0.0.255", "an IETF protocol address"),
    ("192.0.2.10", "a documentation address"),
    ("192.88.99.1", "a reserved address"),
    ("192.168.1.1", "a private address"),
    ("198.18.0.1", "a benchmarking address"),
    ("198.19.255.255", "a benchmarking address"),
    ("198.51.100.7", "a documentation address"),
    ("203.0.113.7", "a documentation address"),
    ("224.0.0.251", "a multicast address"),
    ("239.255.255.250", "a multicast address"),
    ("240.0.0.1", "a reserved address"),
    ("255.255.255.255", "a reserved address"),
    # IPv6 special-purpose ranges
    ("::", "an unspecified address"),
    ("::1", "a loopback address"),
    ("fe80::1", "a link-local address"),
    ("fec0::1", "a site-local address"),
    ("fc00::1", "a private address"),
    ("fd00:ec2::254", "a private address"),  # a cloud's IPv6 metadata service
    ("ff02::1", "a multicast address"),
    ("2001:db8::1", "a documentation address"),
    ("3fff::1", "a documentation address"),
    ("100::1", "a discard-only address"),
    ("2001:2::1", "an IETF protocol address"),
    ("5f00::1", "a segment-routing address"),
    ("4000::1", "a reserved address"),
    ("64:ff9b:1::a00:1", "a local-use NAT64 address"),
    # IPv4 inside IPv6: mapped, compatible, NAT64, 6to4, Teredo
    ("::ffff:127.0.0.1", "the IPv4-mapped form of 127.0.0.1, a loopback address"),
    ("::ffff:169.254.169.254", "the IPv4-mapped form of 169.254.169.254, a link-local address"),
    ("::ffff:10.0.0.1", "the IPv4-mapped form of 10.0.0.1, a private address"),
    ("::ffff:100.64.0.1", "the IPv4-mapped form of 100.64.0.1, a shared address (carrier-grade NAT)"),
    ("::ffff:0.0.0.0", "the IPv4-mapped form of 0.0.0.0, an unspecified address"),
    ("::127.0.0.1", "the IPv4-compatible form of 127.0.0.1, a loopback address"),
    ("::10.0.0.1", "the IPv4-compatible form of 10.0.0.1, a private address"),
    ("::8.8.8.8", "a deprecated IPv4-compatible address"),
    ("64:ff9b::127.0.0.1", "the NAT64 form of 127.0.0.1, a loopback address"),
    ("64:ff9b::a9fe:a9fe", "the NAT64 form of 169.254.169.254, a link-local address"),
    ("64:ff9b::198.18.0.1", "the NAT64 form of 198.18.0.1, a benchmarking address"),
    ("2002:7f00:1::", "the 6to4 form of 127.0.0.1, a loopback address"),
    ("2002:a9fe:a9fe::1", "the 6to4 form of 169.254.169.254, a link-local address"),
    ("2002:c000:0001::", "the 6to4 form of 192.0.0.1, an IETF protocol address"),
    # Teredo: server 65.54.227.120, client 127.0.0.1 (stored inverted: 80ff:fffe)
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "the Teredo form of 127.0.0.1, a loopback address"),
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "the Teredo form of 10.0.0.1, a private address"),
    ("2001:0:4136:e378:8000:63bf:3fe3:4e2d", "an IETF protocol address"),  # both ends public: still not global
    # zone ids name an interface of this machine
    ("fe80::1%eth0", "an address with a zone (scope) id"),
    ("2606:4700:4700::1111%1", "an address with a zone (scope) id"),
]

PUBLIC = [
    "8.8.8.8", "1.1.1.1", "93.184.215.14", "100.63.255.255", "100.128.0.0", "172.32.0.1", "192.0.1.1",
    "198.17.255.255", "198.20.0.1", "223.255.255.255",
    "2606:4700:4700::1111", "2a00:1450:4001:81c::200e", "2001:4860:4860::8888",
    "::ffff:8.8.8.8",  # mapped: the connection goes to 8.8.8.8
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "2002:808:808::1",  # 6to4 of 8.8.8.8
]


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_not_globally_routable_addresses_are_refused_with_the_reason(address, reason):
    assert refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address):
    assert refusal(ipaddress.ip_address(address)) is None


def test_every_refused_ipv4_range_is_refused_in_every_embedded_form():
    """Each refused IPv4 sample, carried by each IPv6 form, is refused naming the IPv4 address inside."""
    samples = [ipaddress.IPv4Address(a) for a, _ in REFUSED if ":" not in a]
    for v4 in samples:
        n = int(v4)
        forms = {
            "IPv4-mapped": ipaddress.IPv6Address((0xFFFF << 32) | n),
            "IPv4-compatible": ipaddress.IPv6Address(n),
            "NAT64": ipaddress.IPv6Address((0x64FF9B << 96) | n),
            "6to4": ipaddress.IPv6Address((0x2002 << 112) | (n << 80) | 1),
            # Teredo: the client address is stored XORed with all ones in the last 32 bits
            "Teredo": ipaddress.IPv6Address((0x20010000 << 96) | (int(ipaddress.IPv4Address("65.54.227.120")) << 64)
                                            | (n ^ 0xFFFFFFFF)),
        }
        for form, ip in forms.items():
            reason = refusal(ip)
            assert reason is not None, f"{ip} ({form} of {v4}) passed"
            if not (form == "IPv4-compatible" and n <= 1):  # "::" and "::1" are IPv6's own
                assert str(v4) in reason, (form, v4, reason)
