"""Property tests of the gate: spellings nobody listed are refused too, and what passes is stable."""

from __future__ import annotations

import asyncio
import ipaddress

from hypothesis import given, settings, strategies as st

from app.repair.endpoint import EndpointRefused, parse_endpoint, vet_url

REFUSED_V4 = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
    "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4")]


@st.composite
def refused_v4(draw) -> ipaddress.IPv4Address:
    network = draw(st.sampled_from(REFUSED_V4))
    return network[draw(st.integers(0, network.num_addresses - 1))]


def spelled(ip: ipaddress.IPv4Address, style: str) -> str:
    n, parts = int(ip), [int(p) for p in str(ip).split(".")]
    return {
        "dotted": str(ip),
        "decimal": str(n),
        "hex": hex(n),
        "octal": "0" + oct(n)[2:],
        "dotted-octal": ".".join(f"0{p:o}" for p in parts),
        "dotted-hex": ".".join(hex(p) for p in parts),
        "short": f"{parts[0]}.{(parts[1] << 16) | (parts[2] << 8) | parts[3]}",
        "trailing-dot": f"{ip}.",
        "mapped": f"[::ffff:{ip}]",
        "mapped-hex": f"[::ffff:{n >> 16:x}:{n & 0xFFFF:x}]",
        "compatible": f"[::{ip}]",
        "nat64": f"[64:ff9b::{ip}]",
        "6to4": f"[2002:{n >> 16:x}:{n & 0xFFFF:x}::1]",
        "full-width": str(ip).translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"}).replace(".", "．"),
    }[style]


STYLES = ["dotted", "decimal", "hex", "octal", "dotted-octal", "dotted-hex", "short", "trailing-dot", "mapped",
          "mapped-hex", "compatible", "nat64", "6to4", "full-width"]


@settings(max_examples=400, deadline=None)
@given(ip=refused_v4(), style=st.sampled_from(STYLES), scheme=st.sampled_from(["http", "https", "tcp"]),
       port=st.integers(1, 65535))
def test_every_spelling_of_a_refused_address_is_refused(ip, style, scheme, port):
    url = f"{scheme}://{spelled(ip, style)}:{port}" + ("" if scheme == "tcp" else "/health")
    try:
        vetted = asyncio.run(vet_url(url))
    except EndpointRefused:
        return
    raise AssertionError(f"{url} passed as {vetted}")


@settings(max_examples=300, deadline=None)
@given(raw=st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_whatever_parses_is_stable_ascii_with_one_spelling_per_address(raw):
    for candidate in (raw, f"http://{raw}", f"http://{raw}/", f"tcp://{raw}:22"):
        try:
            endpoint = parse_endpoint(candidate)
        except EndpointRefused:
            continue
        again = parse_endpoint(endpoint.url)
        assert again == endpoint, (candidate, endpoint.url)
        assert endpoint.url.isascii()
        if endpoint.is_ip:  # a literal is stored in its one canonical spelling
            assert str(ipaddress.ip_address(endpoint.host)) == endpoint.host
