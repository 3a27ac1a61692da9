"""Prime Intellect pod bodies (``APIPodConfig``) -> our Instance.

Pods have no tags, so our launch idempotency key travels in the name, ``<name>-computehub-<token>``
(the name shown is without it). A pod runs on the cloud it was launched on (``providerType``),
kept in ``instance_type`` as the offers spell it: ``<cloud>/<gpuName>x<count>``. ``priceHr`` is USD
per hour; ``ip`` and ``sshConnection`` ("root@203.0.113.5 -p 22") may be lists for multi-node pods
(the first node is the one we connect to).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from providers.base import Instance, InstanceStatus, map_status
from providers.errors import BadResponse
from providers.name_token import name_with_token, split_name  # noqa: F401 - used and re-exported
from providers.money import BadPrice, to_decimal
from providers.primeintellect.offers import instance_type_of

NAME = "primeintellect"
_SSH = re.compile(r"^(?:(?P<user>[^@\s]+)@)?(?P<host>[^\s]+)(?:\s+-p\s+(?P<port>\d+))?$")




def _first(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if v), None)
    return value if isinstance(value, str) and value else None


def _utc(raw: Any) -> datetime | None:
    if not isinstance(raw, str) or not raw:
        return None
    when = datetime.fromisoformat(raw)
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def parse_instance(body: Any, status_map: Mapping[str, InstanceStatus]) -> Instance:
    ident = body.get("id") if isinstance(body, dict) else None
    if not isinstance(ident, str) or not ident:
        raise BadResponse("a pod without an `id`", provider=NAME)
    name, token = split_name(str(body.get("name") or ""))
    raw_status = str(body.get("status") or "")
    try:
        count = int(body.get("gpuCount") or 0)
        gpu = str(body.get("gpuName") or "")
        cloud = str(body.get("providerType") or "")
        ssh = _SSH.match(_first(body.get("sshConnection")) or "")
        price = body.get("priceHr")
        port = int(ssh["port"]) if ssh and ssh["port"] else None
        return Instance(
            provider=NAME,
            instance_id=ident,
            name=name,
            status=map_status(NAME, status_map, raw_status),
            raw_status=raw_status,
            instance_type=instance_type_of(cloud, gpu, count, "") if cloud and gpu else "",
            gpu_raw_name=gpu.replace("_", " "),
            gpu_count=Decimal(count),
            price_per_hour=None if price is None else to_decimal(price),
            public_ip=_first(body.get("ip")),
            created_at=_utc(body.get("createdAt")),
            client_token=token,
            ssh_host=ssh["host"] if ssh and ssh["host"] != _first(body.get("ip")) else None,
            ssh_port=port if port not in (None, 22) else None,
            ssh_user=ssh["user"] if ssh and ssh["user"] else None,
        )
    except (BadPrice, TypeError, ValueError) as exc:
        raise BadResponse(f"pod {ident}: {exc}", provider=NAME) from exc
