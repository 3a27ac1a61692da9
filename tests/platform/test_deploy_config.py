"""The compose stack puts a reverse proxy with limits in front of the app, with secure cookies and
the proxy as the only trusted source of X-Forwarded-For."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_only_the_proxy_is_published_and_the_app_trusts_exactly_it():
    services = compose()["services"]
    assert "ports" not in services["app"], "the app must be reached through the proxy only"
    proxy = services["proxy"]
    assert any(str(port).endswith(":443") for port in proxy["ports"])
    proxy_address = proxy["networks"]["edge"]["ipv4_address"]
    environment = services["app"]["environment"]
    assert environment["COMPUTEHUB_TRUSTED_PROXIES"] == proxy_address
    assert environment["COMPUTEHUB_BASE_URL"].startswith("https://")
    assert environment["COMPUTEHUB_SECURE_COOKIES"] == "true"


def test_the_proxy_limits_body_size_and_times_out_slow_clients():
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    mounted = compose()["services"]["proxy"]["volumes"]
    assert any(v.startswith("./deploy/Caddyfile:") for v in mounted)
    for directive in ("read_header", "read_body", "idle", "write"):
        assert re.search(rf"^\s*{directive}\s+\d+s\s*$", caddyfile, re.M), directive
    assert re.search(r"max_size\s+\d+MB", caddyfile)
    assert re.search(r"max_header_size\s+\d+KB", caddyfile)


def adapted_caddyfile() -> dict:
    """The Caddyfile as Caddy itself reads it (its JSON config): a typo fails here, not in production."""
    if shutil.which("caddy") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("caddy is not installed (.ci/run installs it)")
        pytest.skip("caddy is not installed")
    done = subprocess.run(["caddy", "adapt", "--config", str(ROOT / "deploy" / "Caddyfile"), "--adapter", "caddyfile"],
                          capture_output=True, text=True, env={**os.environ, "COMPUTEHUB_DOMAIN": "example.org"},
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def handlers(node):
    if isinstance(node, dict):
        if "handler" in node:
            yield node
        for value in node.values():
            yield from handlers(value)
    elif isinstance(node, list):
        for value in node:
            yield from handlers(value)


def test_the_proxy_balances_over_every_replica_of_the_app_service():
    services = compose()["services"]
    app_port = str(services["app"]["expose"][0])
    [proxy] = [h for h in handlers(adapted_caddyfile()) if h["handler"] == "reverse_proxy"]
    # `docker compose up --scale app=N`: one DNS A record per replica, so a static upstream would pin one.
    assert proxy.get("upstreams") in (None, []), "a fixed upstream reaches only one app replica"
    assert proxy["dynamic_upstreams"] == {**proxy["dynamic_upstreams"], "source": "a", "name": "app", "port": app_port}
    assert "app" in services and "container_name" not in services["app"], "a fixed container name cannot scale"
    # A replica being restarted is skipped, not shown to the visitor as an error.
    assert proxy["load_balancing"]["try_duration"] > 0
    assert proxy["health_checks"]["passive"]["fail_duration"] > 0
    assert proxy["load_balancing"]["selection_policy"]["policy"] == "least_conn"


def test_the_proxy_site_is_the_configured_domain():
    config = adapted_caddyfile()
    hosts = [host for server in config["apps"]["http"]["servers"].values() for route in server["routes"]
             for match in route.get("match", []) for host in match.get("host", [])]
    assert hosts == ["example.org"]
