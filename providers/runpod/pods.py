"""RunPod REST v2 `Pod` bodies -> our Instance.

- Price: `cost`, USD per pod-hour as RunPod bills it now. It is 0.0 while the pod is EXITED or
  TERMINATED (nothing billed for compute then), which is not the pod's rate: read as "no
  price", so the console keeps the last known rate instead of showing $0/h.
- instance_type is rebuilt as ``"<gpu id>|secure"`` / ``"|community"``, the shape of our offers.
- region is the data center the scheduler chose (`dataCenterId`), else the cloud's offer region.
- Our launch idempotency key travels as the pod environment variable ``COMPUTEHUB_CLIENT_TOKEN``
  (see ``launch.py``): every Pod body carries `env`, and the pod's name stays the user's own.
- SSH: `ssh.direct` {host, port, username} is the pod's public IP and its mapped TCP port (e.g.
  ``root@198.51.100.27 -p 40122``); without it (no public IP yet) `ssh.proxy`, RunPod's SSH gateway
  (``<pod>-<hash>@ssh.runpod.io``, port 22).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from providers.base import Instance, InstanceStatus, map_status
from providers.errors import BadResponse
from providers.money import BadPrice, to_decimal
from providers.runpod.offers import CLOUDS

NAME = "runpod"
CLIENT_TOKEN_ENV = "COMPUTEHUB_CLIENT_TOKEN"
# The API's `cloud` value ("SECURE") -> our offers' cloud ("secure", region "secure-cloud").
CLOUD_BY_API_NAME = {cloud.name.upper(): cloud for cloud in CLOUDS}


def parse_pod(body: Any, status_map: Mapping[str, InstanceStatus]) -> Instance:
    pod_id = body.get("id") if isinstance(body, dict) else None
    if not isinstance(pod_id, str) or not pod_id:
        raise BadResponse("a pod without an `id`", provider=NAME)
    gpu = _object(body.get("gpu"))  # absent on CPU pods
    cloud = CLOUD_BY_API_NAME.get(str(body.get("cloud") or "").upper())
    raw_status = body.get("status")
    try:
        return Instance(
            provider=NAME,
            instance_id=pod_id,
            name=str(body.get("name") or ""),
            status=map_status(NAME, status_map, raw_status),
            raw_status=str(raw_status or ""),
            instance_type=f"{gpu['id']}|{cloud.name}" if gpu.get("id") and cloud else "",
            region=str(body.get("dataCenterId") or (cloud.region if cloud else "")),
            gpu_raw_name=str(gpu.get("id") or ""),
            gpu_count=Decimal(int(gpu.get("count") or 0)),
            price_per_hour=_price(body.get("cost")),
            public_ip=_object(_object(body.get("ssh")).get("direct")).get("host") or None,
            created_at=_utc(body.get("createdAt")),
            client_token=str(_object(body.get("env")).get(CLIENT_TOKEN_ENV) or ""),
            **_ssh(_object(body.get("ssh"))),
        )
    except (BadPrice, TypeError, ValueError) as exc:
        raise BadResponse(f"pod {pod_id}: {exc}", provider=NAME) from exc


def parse_pods(items: list[Any], status_map: Mapping[str, InstanceStatus]) -> list[Instance]:
    return [parse_pod(item, status_map) for item in items]


def _ssh(ssh: Mapping[str, Any]) -> dict[str, Any]:
    for way in ("direct", "proxy"):
        endpoint = _object(ssh.get(way))
        if endpoint.get("host"):
            port = endpoint.get("port")
            return {"ssh_host": str(endpoint["host"]), "ssh_port": int(port) if port else None,
                    "ssh_user": str(endpoint.get("username") or "") or None}
    return {}


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _price(raw: Any) -> Decimal | None:
    if raw is None:
        return None
    cost = to_decimal(raw)
    return cost if cost > 0 else None


def _utc(raw: Any) -> datetime | None:
    if not raw:
        return None
    when = datetime.fromisoformat(str(raw))  # "2026-06-01T12:00:00Z" (date-time per the spec)
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
