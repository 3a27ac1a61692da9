"""The compose stack puts a reverse proxy with limits in front of the app, with secure cookies and
the proxy as the only trusted source of X-Forwarded-For."""

from __future__ import annotations

import re
from pathlib import Path

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
    assert "reverse_proxy app:8000" in caddyfile
