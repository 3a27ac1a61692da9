"""The ``ssh`` command for a running deployment: the endpoint the provider reports (a mapped
port, a proxy, its login), else the public IP on port 22 with the provider's default login."""

from __future__ import annotations

import ipaddress
import re

from app.console.bindings import provider_class
from app.db.models import Instance

DEFAULT_USER = "root"
DEFAULT_PORT = 22
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


def default_user(provider: str) -> str:
    try:
        return provider_class(provider).SSH_USER
    except Exception:  # noqa: BLE001 - an adapter that cannot load still gets a usable command
        return DEFAULT_USER


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOSTNAME.match(host))


def ssh_command(row: Instance) -> str | None:
    """``ssh -p PORT user@host`` while the instance runs and an address is known; None otherwise,
    and None rather than a command built from a value that is not a plain host, port or login."""
    if row.status != "running":
        return None
    host = (row.ssh_host or row.public_ip or "").strip()
    port = row.ssh_port if row.ssh_host else None
    port = port or DEFAULT_PORT
    user = (row.ssh_user or "").strip() or default_user(row.provider)
    if not host or not _valid_host(host) or not _USER.match(user) or not 0 < port < 65536:
        return None
    return f"ssh -p {port} {user}@{host}"
