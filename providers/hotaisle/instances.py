"""Hot Aisle VM bodies (``VirtualMachineDetails``) and power states -> our Instance.

A VM is named by Hot Aisle (``vm-01``): that name is its id. It has no tags and provision takes
no name, so our launch idempotency key travels in the one field we may set, ``description``,
written just after provision: ``<our name> computehub-ct-<token>``; the name shown is the part
before it. The details carry no state: ``GET .../state/`` does (libvirt words: "running",
"shut off", "paused"). ``instance_type`` is the offers' ``<count>x-<model>-<cores>c-<GiB>g``.
Hot Aisle runs one site; the body carries no price.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from providers.base import Instance, InstanceStatus, map_status
from providers.errors import BadResponse
from providers.hotaisle.offers import REGION, instance_type_of
from providers.money import BadPrice

NAME = "hotaisle"
_TOKEN_SUFFIX = re.compile(r"(?:^| )computehub-ct-([0-9a-f]{32})$")


def description_with_token(name: str, client_token: str) -> str:
    return f"{name} computehub-ct-{client_token}".strip() if client_token else name


def split_description(raw: str) -> tuple[str, str]:
    found = _TOKEN_SUFFIX.search(raw)
    return (raw[: found.start()], found.group(1)) if found else (raw, "")


def parse_instance(body: Any, raw_state: str | None, status_map: Mapping[str, InstanceStatus]) -> Instance:
    """``raw_state`` is the ``state`` of ``GET .../state/``; None: not asked (a VM just provisioned)."""
    ident = body.get("name") if isinstance(body, dict) else None
    if not isinstance(ident, str) or not ident:
        raise BadResponse("a virtual machine without a `name`", provider=NAME)
    label, token = split_description(str(body.get("description") or ""))
    ssh = body.get("ssh_access") if isinstance(body.get("ssh_access"), dict) else {}
    gpus = body.get("gpus") if isinstance(body.get("gpus"), list) else []
    try:
        gpu = gpus[0] if gpus else {}
        port = ssh.get("port")
        return Instance(
            provider=NAME,
            instance_id=ident,
            name=label or ident,
            status=(InstanceStatus.PROVISIONING if raw_state is None
                    else map_status(NAME, status_map, raw_state)),
            raw_status=raw_state or "",
            instance_type=instance_type_of(body) if gpus else "",
            region=REGION,
            gpu_raw_name=f"{gpu.get('manufacturer') or 'AMD'} {gpu['model']}" if gpu.get("model") else "",
            gpu_count=Decimal(int(gpu.get("count") or 0)),
            public_ip=ssh.get("ip_address") or body.get("ip_address") or None,  # ssh_access: the public side
            client_token=token,
            ssh_port=int(port) if port not in (None, "", 22, "22") else None,
        )
    except (BadPrice, KeyError, TypeError, ValueError) as exc:
        raise BadResponse(f"virtual machine {ident}: {exc}", provider=NAME) from exc
