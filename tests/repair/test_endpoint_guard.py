"""The health endpoint's SSRF gate (``vet_url``): one strict syntax, every resolved address public,
for every provider and in every mode, on save and again before every check."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.repair import endpoint
from app.repair.configure import RepairFormError, configure
from app.repair.endpoint import EndpointRefused, parse_endpoint, vet_url
from app.settings import SandboxSettings
from tests.repair.support import checks, reload, run_cycle, running_instance, watched_instance

PUBLIC_ONLY = "ComputeHub only checks endpoints on public addresses"


def resolver(*addresses: str, calls: list | None = None):
    async def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append((host, port))
        return list(addresses)

    return resolve


async def refused(url: str) -> str:
    with pytest.raises(EndpointRefused) as caught:
        await vet_url(url)
    return str(caught.value)


@pytest.mark.parametrize(("url", "message"), [
    ("http://127.0.0.1:8080/health", "127.0.0.1 is a loopback address"),
    ("http://10.0.0.5/health", "10.0.0.5 is a private address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://[::1]/", "::1 is a loopback address"),
    ("tcp://0.0.0.0:22", "0.0.0.0 is an unspecified address"),
    ("http://224.0.0.251/", "224.0.0.251 is a multicast address"),
    ("http://240.0.0.1/", "240.0.0.1 is a reserved address"),
    ("http://100.64.0.1/", "100.64.0.1 is a shared address (carrier-grade NAT)"),
    ("http://198.18.0.1/", "198.18.0.1 is a benchmarking address"),
    ("http://192.0.0.170/", "192.0.0.170 is an IETF protocol address"),
    ("http://[::ffff:192.168.1.1]/", "::ffff:c0a8:101 is the IPv4-mapped form of 192.168.1.1, a private address"),
    ("http://[::ffff:7f00:1]/", "::ffff:7f00:1 is the IPv4-mapped form of 127.0.0.1, a loopback address"),
    ("http://[64:ff9b::169.254.169.254]/",
     "64:ff9b::a9fe:a9fe is the NAT64 form of 169.254.169.254, a link-local address"),
    ("http://[2002:a00:1::]/", "2002:a00:1:: is the 6to4 form of 10.0.0.1, a private address"),
    ("http://[fe80::1]/", "fe80::1 is a link-local address"),
    # spellings that normalise to a refused address
    ("http://127.0.0.1./", "127.0.0.1 is a loopback address"),
    ("http://[0:0:0:0:0:0:0:1]/", "::1 is a loopback address"),
    ("http://１２７.０.０.１/", "127.0.0.1 is a loopback address"),  # full-width digits and dots (IDNA)
    ("http://127。0。0。1/", "127.0.0.1 is a loopback address"),  # ideographic full stops
])
async def test_non_public_addresses_are_refused_with_the_reason(url, message):
    assert await refused(url) == f"{message}: {PUBLIC_ONLY}"


@pytest.mark.parametrize(("url", "message"), [
    # IPv4 in any form but four decimal numbers: one spelling per address
    ("http://2130706433/", "2130706433 is not an IPv4 address in the usual form"),
    ("http://0x7f000001/", "0x7f000001 is not an IPv4 address in the usual form"),
    ("http://0X7F.0.0.1/", "0x7f.0.0.1 is not an IPv4 address in the usual form"),
    ("http://0177.0.0.1/", "0177.0.0.1 is not an IPv4 address in the usual form"),
    ("http://127.000.000.001/", "127.000.000.001 is not an IPv4 address in the usual form"),
    ("http://127.1/", "127.1 is not an IPv4 address in the usual form"),
    ("http://0/", "0 is not an IPv4 address in the usual form"),
    ("http://1.2.3.4.5/", "1.2.3.4.5 is not an IPv4 address in the usual form"),
    ("http://２１３０７０６４３３/", "2130706433 is not an IPv4 address in the usual form"),
    # what some parser reads as another host than another one does
    ("http://evil.example@127.0.0.1/", "may not contain a user name or password"),
    ("http://127.0.0.1:80@evil.example/", "may not contain a user name or password"),
    ("http://127.0.0.1#@evil.example", "may not contain a fragment"),
    ("http://evil.example\\@127.0.0.1/", "may not contain spaces, control characters or backslashes"),
    ("http:\\\\127.0.0.1\\", "may not contain spaces, control characters or backslashes"),
    ("http://127.0.0.1\t/", "may not contain spaces, control characters or backslashes"),
    ("http://127.0.\n0.1/", "may not contain spaces, control characters or backslashes"),
    ("http://%31%32%37.0.0.1/", "host may not be percent-encoded"),
    ("http://[::1%25lo]/", "is not an IPv6 address without a zone id"),
    ("http://[fe80::1%eth0]/", "is not an IPv6 address without a zone id"),
    ("http://[127.0.0.1]/", "is not an IPv6 address without a zone id"),
    ("http://::1/", "must be written in brackets"),
    ("http://[::1/", "lacks its closing bracket"),
    ("http://127.0.0.1:８０/", "port must be 1-65535"),
    ("http://127.0.0.1:+80/", "port must be 1-65535"),
    ("http:/127.0.0.1/", "must start with http://, https:// or tcp://"),
    ("//127.0.0.1/", "must start with http://, https:// or tcp://"),
    ("file:///etc/passwd", "must start with http://, https:// or tcp://"),
    ("gopher://127.0.0.1:6379/_INFO", "must start with http://, https:// or tcp://"),
])
async def test_ambiguous_spellings_are_refused_before_any_lookup(url, message, monkeypatch):
    calls = []
    monkeypatch.setattr(endpoint, "resolve_host", resolver("127.0.0.1", calls=calls))
    assert message in await refused(url)
    assert calls == []


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "localhost.", "api.localhost", "localhost.localdomain"])
async def test_names_of_this_machine_are_refused_without_a_lookup(host, monkeypatch):
    calls = []
    monkeypatch.setattr(endpoint, "resolve_host", resolver("93.184.215.14", calls=calls))
    assert await refused(f"http://{host}:8080/") == f"{host.lower().rstrip('.')} is this machine: {PUBLIC_ONLY}"
    assert calls == []


async def test_a_host_name_resolving_to_a_private_address_is_refused(monkeypatch):
    calls = []
    monkeypatch.setattr(endpoint, "resolve_host", resolver("10.1.2.3", calls=calls))
    assert await refused("https://Internal.Example.COM./health") == (
        f"internal.example.com resolves to 10.1.2.3, which is a private address: {PUBLIC_ONLY}")
    assert calls == [("internal.example.com", 443)]  # resolved once, in its normal form


@pytest.mark.parametrize("addresses", [
    ("93.184.215.14", "169.254.169.254"),
    ("2606:4700:4700::1111", "::ffff:127.0.0.1"),
    ("93.184.215.14", "fe80::1%eth0"),
])
async def test_every_resolved_address_must_be_public(addresses, monkeypatch):
    monkeypatch.setattr(endpoint, "resolve_host", resolver(*addresses))
    assert "mixed.example.com resolves to" in await refused("http://mixed.example.com/")


async def test_public_addresses_are_accepted_and_normalised(monkeypatch):
    # No connection here: vetting resolves (the resolver is replaced) and never connects.
    assert (await vet_url("http://8.8.8.8/health")).endpoint.url == "http://8.8.8.8/health"
    assert (await vet_url("tcp://[2606:4700:4700::1111]:22")).endpoint.url == "tcp://[2606:4700:4700::1111]:22"
    monkeypatch.setattr(endpoint, "resolve_host", resolver("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"))
    vetted = await vet_url("HTTPS://GPU.Example.com.:8443/health?deep=1")
    assert vetted.endpoint.url == "https://gpu.example.com:8443/health?deep=1"
    assert [str(a) for a in vetted.addresses] == ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    assert (await vet_url("http://bücher.example/")).endpoint.host == "xn--bcher-kva.example"


def test_the_host_header_form_brackets_ipv6_and_drops_the_default_port():
    assert parse_endpoint("http://[2001:db8::1]:8080/h").authority == "[2001:db8::1]:8080"
    assert parse_endpoint("https://[2001:DB8:0::1]/h").authority == "[2001:db8::1]"
    assert parse_endpoint("http://gpu.example.com:80/").authority == "gpu.example.com"


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://8.8.8.8/", "must start with http://, https:// or tcp://"),
    ("8.8.8.8:80", "must start with http://, https:// or tcp://"),
    ("http://user:secret@8.8.8.8/", "may not contain a user name or password"),
    ("tcp://8.8.8.8", "needs a port"),
    ("tcp://8.8.8.8:22/path", "without a path"),
    ("http://8.8.8.8:70000/", "port must be 1-65535"),
    ("http://8.8.8.8:0/", "port must be 1-65535"),
    ("http:///health", "needs a host name or an IP address"),
    ("http://bad_host!/", "is not a valid host name"),
    ("http://8.8.8.8/" + "a" * 600, "at most 512 characters"),
])
async def test_malformed_endpoints_are_refused(url, message):
    assert message in await refused(url)


async def test_an_unresolvable_host_is_refused(monkeypatch):
    async def fails(host, port):
        raise OSError("Name or service not known")

    monkeypatch.setattr(endpoint, "resolve_host", fails)
    assert await refused("http://nowhere.example/") == "the host name nowhere.example does not resolve"


async def test_the_sandbox_has_no_exemption(sessions, keyring, http, clock, cloud, settings, pro):
    assert settings.sandbox.enabled  # the local mode that used to let private addresses through
    row = await running_instance(sessions, keyring, http, clock, pro)
    for url in ("http://127.0.0.1:8080/health", "tcp://[::1]:22", "http://198.51.100.3:8080/health"):
        with pytest.raises(RepairFormError, match=PUBLIC_ONLY):
            await configure(sessions, settings, pro.user_id, row.id, enabled=True, health_check_url=url)
    assert (await reload(sessions, row.id)).health_check_url is None


async def test_the_address_is_checked_again_before_every_probe(sessions, keyring, http, clock, cloud, settings, pro,
                                                              monkeypatch):
    """DNS changed after the URL was saved: the check refuses to connect and does not repair over it."""
    production = replace(settings, sandbox=SandboxSettings(enabled=False))
    monkeypatch.setattr(endpoint, "resolve_host", resolver("93.184.215.14"))
    row = await watched_instance(sessions, keyring, http, clock, production, pro, url="http://gpu.example.com/health")
    monkeypatch.setattr(endpoint, "resolve_host", resolver("10.0.0.7"))

    for _ in range(4):
        await run_cycle(sessions, keyring, http, production, clock)
        clock.advance(30)

    found = await checks(sessions, row.id)
    assert len(found) == 4
    assert all(c.healthy and c.endpoint_ok is None for c in found)
    assert found[-1].detail == ("the provider reports running; endpoint not checked: gpu.example.com resolves to "
                                f"10.0.0.7, which is a private address: {PUBLIC_ONLY}")
    assert (await reload(sessions, row.id)).repair_state == "ok"
