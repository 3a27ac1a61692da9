"""The health endpoint's SSRF guard: only public addresses, checked on save and again on every check."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.repair import endpoint
from app.repair.configure import RepairFormError, configure
from app.repair.endpoint import EndpointRefused, validate_url
from app.settings import SandboxSettings
from tests.repair.support import checks, reload, run_cycle, watched_instance


def resolver(*addresses: str, calls: list | None = None):
    async def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append((host, port))
        return list(addresses)

    return resolve


@pytest.mark.parametrize(("url", "message"), [
    ("http://127.0.0.1:8080/health", "127.0.0.1 is a loopback address"),
    ("http://10.0.0.5/health", "10.0.0.5 is a private address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://[::1]/", "::1 is a loopback address"),
    ("tcp://0.0.0.0:22", "0.0.0.0 is an unspecified address"),
    ("http://224.0.0.251/", "224.0.0.251 is a multicast address"),
    ("http://240.0.0.1/", "240.0.0.1 is a reserved address"),
    ("http://100.64.0.1/", "100.64.0.1 is not a public address"),
    ("http://[::ffff:192.168.1.1]/", "::ffff:192.168.1.1 is a private address"),
    ("http://[fe80::1]/", "fe80::1 is a link-local address"),
])
async def test_non_public_addresses_are_refused_with_the_reason(url, message):
    with pytest.raises(EndpointRefused) as refused:
        await validate_url(url)
    assert str(refused.value) == f"{message}: ComputeHub only checks endpoints on public addresses"


async def test_a_host_name_resolving_to_a_private_address_is_refused(monkeypatch):
    calls = []
    monkeypatch.setattr(endpoint, "resolve_host", resolver("10.1.2.3", calls=calls))
    with pytest.raises(EndpointRefused, match=r"^internal\.example\.com resolves to 10\.1\.2\.3, which is a private "
                                              r"address: ComputeHub only checks endpoints on public addresses$"):
        await validate_url("https://internal.example.com/health")
    assert calls == [("internal.example.com", 443)]


async def test_every_resolved_address_must_be_public(monkeypatch):
    monkeypatch.setattr(endpoint, "resolve_host", resolver("93.184.215.14", "169.254.169.254"))
    with pytest.raises(EndpointRefused, match="resolves to 169.254.169.254, which is a link-local address"):
        await validate_url("http://mixed.example.com/")


async def test_public_addresses_are_accepted_without_connecting(monkeypatch):
    # No probe here: validating resolves (the resolver is replaced) and never opens a connection.
    assert await validate_url("http://8.8.8.8/health") == "http://8.8.8.8/health"
    assert await validate_url("tcp://[2606:4700:4700::1111]:22") == "tcp://[2606:4700:4700::1111]:22"
    monkeypatch.setattr(endpoint, "resolve_host", resolver("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"))
    assert await validate_url("HTTPS://GPU.Example.com:8443/health?deep=1") == "https://gpu.example.com:8443/health?deep=1"


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://8.8.8.8/", "must start with http://, https:// or tcp://"),
    ("8.8.8.8:80", "must start with http://, https:// or tcp://"),
    ("http://user:secret@8.8.8.8/", "may not contain a user name or password"),
    ("tcp://8.8.8.8", "needs a port"),
    ("tcp://8.8.8.8:22/path", "without a path"),
    ("http://8.8.8.8:70000/", "the port must be 1-65535"),
    ("http:///health", "needs a host name or an IP address"),
    ("http://bad_host!/", "is not a valid host name"),
])
async def test_malformed_endpoints_are_refused(url, message):
    with pytest.raises(EndpointRefused, match=message):
        await validate_url(url)


async def test_an_unresolvable_host_is_refused(monkeypatch):
    async def fails(host, port):
        raise OSError("Name or service not known")

    monkeypatch.setattr(endpoint, "resolve_host", fails)
    with pytest.raises(EndpointRefused, match="the host name nowhere.example does not resolve"):
        await validate_url("http://nowhere.example/")


async def test_only_the_local_sandbox_may_use_a_private_endpoint(sessions, keyring, http, clock, cloud, settings, pro):
    row = await watched_instance(sessions, keyring, http, clock, settings, pro)
    saved = await configure(sessions, settings, pro.user_id, row.id, enabled=True,
                            health_check_url="http://127.0.0.1:8080/health")
    assert saved.health_check_url == "http://127.0.0.1:8080/health"

    production = replace(settings, sandbox=SandboxSettings(enabled=False))
    with pytest.raises(RepairFormError, match="127.0.0.1 is a loopback address"):
        await configure(sessions, production, pro.user_id, row.id, enabled=True,
                        health_check_url="http://127.0.0.1:8080/health")


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
                                "10.0.0.7, which is a private address: ComputeHub only checks endpoints on public "
                                "addresses")
    assert (await reload(sessions, row.id)).repair_state == "ok"
