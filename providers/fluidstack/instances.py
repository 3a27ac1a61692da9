"""FluidStack instance bodies (`GET /instances`, `GET /instances/{id}`) -> our Instance.

FluidStack instances have no tags, so our launch idempotency key travels in the name:
``<name>-computehub-<client_token>`` (see ``launch.py``); the name shown is without it.
``instance_type`` is ``<gpu_type>.<count>x``, the identity FluidStack offers have here.
The body carries no price.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from providers.base import Instance, InstanceStatus, map_status
from providers.errors import BadResponse
from providers.name_token import name_with_token, split_name  # noqa: F401 - used and re-exported

NAME = "fluidstack"




def instance_type(gpu_type: str, gpu_count: int) -> str:
    return f"{gpu_type}.{gpu_count}x" if gpu_type else ""


def parse_instance(body: Any, status_map: Mapping[str, InstanceStatus]) -> Instance:
    ident = body.get("id") if isinstance(body, dict) else None
    if not isinstance(ident, str) or not ident:
        raise BadResponse("an instance without an `id`", provider=NAME)
    name, token = split_name(str(body.get("name") or ""))
    raw_status = str(body.get("status") or "")
    try:
        count = int(body.get("gpu_count") or 0)
        port = body.get("ssh_port")
        return Instance(
            provider=NAME,
            instance_id=ident,
            name=name,
            status=map_status(NAME, status_map, raw_status),
            raw_status=raw_status,
            instance_type=instance_type(str(body.get("gpu_type") or ""), count),
            region=str(body.get("region") or ""),
            gpu_raw_name=str(body.get("gpu_type") or ""),
            gpu_count=Decimal(count),
            public_ip=body.get("ip_address") or None,
            client_token=token,
            ssh_port=int(port) if port not in (None, "", 22, "22") else None,
        )
    except (TypeError, ValueError) as exc:
        raise BadResponse(f"instance {ident}: {exc}", provider=NAME) from exc


def parse_instances(items: list, status_map: Mapping[str, InstanceStatus]) -> list[Instance]:
    return [parse_instance(item, status_map) for item in items]
