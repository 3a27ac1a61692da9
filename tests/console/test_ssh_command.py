"""The ``ssh`` command is built from what each provider reports, read from the recorded API
answers in tests/fixtures: RunPod and Vast expose SSH on a mapped port (or a proxy), the others on
the public IP at port 22 with the adapter's default login."""

from __future__ import annotations

import asyncio

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from app.console.instances import apply_provider_state
from app.console.ssh import ssh_command
from app.db.models import Instance
from providers.base import Instance as ProviderInstance, InstanceStatus
from providers.runpod import RunPodSource
from providers.runpod.pods import parse_pod
from providers.vastai import VastSource
from providers.vastai.instances import parse_instance

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc)


class _NoSession:
    def add(self, _row) -> None:  # apply_provider_state records an event; not needed here
        pass


def recorded(provider: str, key: str) -> list[dict]:
    """Every instance body of the provider's recorded answers that carries ``key``."""
    found: list[dict] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if key in node and "id" in node:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads((FIXTURES / provider / "lifecycle.json").read_text())["scenarios"])
    return found


def row_for(provider: str, status: str = "launching") -> Instance:
    return Instance(user_id=1, provider=provider, client_token="t", name="box", instance_type="", region="",
                    status=status, raw_status="", gpu_count=Decimal(0), created_at=NOW, updated_at=NOW)


def synced(provider: str, remote: ProviderInstance, row: Instance | None = None) -> Instance:
    row = row or row_for(provider)
    asyncio.run(apply_provider_state(_NoSession(), row, remote, NOW))
    return row


def test_runpod_direct_tcp_port_and_login():
    pods = [parse_pod(b, RunPodSource.STATUS_MAP) for b in recorded("runpod", "ssh")]
    running = [p for p in pods if p.status == InstanceStatus.RUNNING and p.public_ip]
    assert running
    for pod in running:
        assert (pod.ssh_host, pod.ssh_port, pod.ssh_user) == ("198.51.100.27", 40122, "root")
        # What RunPod itself prints for this pod: "ssh root@198.51.100.27 -p 40122".
        assert ssh_command(synced("runpod", pod)) == "ssh -p 40122 root@198.51.100.27"


def test_runpod_without_a_public_ip_uses_its_ssh_proxy():
    booting = next(p for p in (parse_pod(b, RunPodSource.STATUS_MAP) for b in recorded("runpod", "ssh"))
                   if p.instance_id == "p7o5i3u1y9")
    assert (booting.public_ip, booting.ssh_host, booting.ssh_port, booting.ssh_user) == (
        None, "ssh.runpod.io", 22, "p7o5i3u1y9-6441a0c3")
    row = synced("runpod", booting)
    assert ssh_command(row) is None  # still booting
    row.status = "running"
    assert ssh_command(row) == "ssh -p 22 p7o5i3u1y9-6441a0c3@ssh.runpod.io"


def test_vast_mapped_port_on_the_public_ip_else_its_proxy():
    instances = {i.instance_id: i for i in (parse_instance(b, VastSource.STATUS_MAP) for b in recorded("vastai", "ssh_host"))}
    running = instances["4012345"]
    assert running.status == InstanceStatus.RUNNING
    assert ssh_command(synced("vastai", running)) == "ssh -p 41022 root@203.0.113.77"
    exited = instances["4012348"]  # no public address or port map: Vast's SSH proxy
    assert (exited.ssh_host, exited.ssh_port, exited.ssh_user) == ("ssh7.vast.ai", 32145, "root")
    row = synced("vastai", exited)
    row.status = "running"
    assert ssh_command(row) == "ssh -p 32145 root@ssh7.vast.ai"


@pytest.mark.parametrize("provider, user", [("sandbox", "root"), ("lambdalabs", "ubuntu"), ("verda", "root"),
                                            ("hyperstack", "ubuntu"), ("no-such-provider", "root")])
def test_the_public_ip_on_port_22_with_the_providers_login(provider, user):
    row = row_for(provider, "running")
    row.public_ip = "192.0.2.10"
    assert ssh_command(row) == f"ssh -p 22 {user}@192.0.2.10"


def test_no_command_while_not_running_or_without_a_plain_address():
    row = row_for("sandbox", "stopped")
    row.public_ip = "192.0.2.10"
    assert ssh_command(row) is None
    row.status = "running"
    row.public_ip = None
    assert ssh_command(row) is None
    for host in ("192.0.2.10; rm -rf /", "$(id)", "-oProxyCommand=x", "host name"):
        row.public_ip = host
        assert ssh_command(row) is None, host
    row.public_ip, row.ssh_host, row.ssh_port, row.ssh_user = "192.0.2.10", "gw.example.com", 2222, "-oX"
    assert ssh_command(row) is None
    row.ssh_user = "admin"
    assert ssh_command(row) == "ssh -p 2222 admin@gw.example.com"
    row.ssh_port = 70000
    assert ssh_command(row) is None


def test_the_endpoint_is_kept_when_a_later_answer_reports_none():
    remote = ProviderInstance(provider="runpod", instance_id="x", name="box", status=InstanceStatus.RUNNING,
                              raw_status="RUNNING", public_ip="198.51.100.27", ssh_host="198.51.100.27",
                              ssh_port=40122, ssh_user="root")
    row = synced("runpod", remote)
    synced("runpod", ProviderInstance(provider="runpod", instance_id="x", name="box", status=InstanceStatus.RUNNING,
                                      raw_status="RUNNING"), row=row)
    assert ssh_command(row) == "ssh -p 40122 root@198.51.100.27"
