"""Vast instance objects (`GET /api/v1/instances/`, `GET /api/v0/instances/{id}/`) -> our Instance.

- Status: `actual_status` (null while provisioning), read together with `intended_status`: a
  stop or start in flight shows as e.g. "running (intended stopped)", which maps to stopping.
- Price: `dph_total`, USD per instance-hour for the whole machine (GPUs plus allocated disk).
- Ids are integers at Vast and strings here. `start_date` (epoch seconds) is the creation time.
- SSH (as root): the host's public IP at the port mapped to the container's 22 (`ports["22/tcp"]`,
  direct), else Vast's SSH proxy `ssh_host`:`ssh_port` (e.g. ssh7.vast.ai:32145).
- Our launch idempotency key travels in the instance `label` as a suffix,
  ``"<name> [computehub <client_token>]"`` (see ``launch.py``); the name is the label without it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from providers.base import Instance, InstanceStatus, map_status
from providers.errors import BadResponse, NotFound
from providers.money import BadPrice, to_decimal
from providers.vastai.offers import readable_region

NAME = "vastai"
_TOKEN_SUFFIX = re.compile(r"\s*\[computehub (?P<token>[^\]\s]+)\]$")
# (actual_status, intended_status) pairs that mean "a start or stop is under way".
_TRANSITIONS = {("running", "stopped"), ("loading", "stopped"), ("stopped", "running")}


def label_with_token(name: str, client_token: str) -> str:
    return f"{name} [computehub {client_token}]" if client_token else name


def vast_id(instance_id: str) -> int:
    """Vast instance ids are integers: anything else names no instance there."""
    if not (instance_id.isascii() and instance_id.isdigit()):
        raise NotFound(f"no instance {instance_id!r}", provider=NAME)
    return int(instance_id)


def raw_status(body: Mapping[str, Any]) -> str:
    actual = str(body.get("actual_status") or "")  # "" = null: being provisioned
    intended = str(body.get("intended_status") or "")
    if (actual, intended) in _TRANSITIONS:
        return f"{actual} (intended {intended})"
    return actual


def parse_instance(body: Any, status_map: Mapping[str, InstanceStatus]) -> Instance:
    instance_id = body.get("id") if isinstance(body, dict) else None
    if not isinstance(instance_id, int) or isinstance(instance_id, bool):
        raise BadResponse("an instance without an integer `id`", provider=NAME)
    raw = raw_status(body)
    name, token = _split_label(body.get("label"))
    gpu_name = str(body.get("gpu_name") or "")
    gpus = int(body.get("num_gpus") or 0)
    public_ip = str(body.get("public_ipaddr") or "").strip() or None
    try:
        return Instance(
            provider=NAME,
            instance_id=str(instance_id),
            name=name,
            status=map_status(NAME, status_map, raw),
            raw_status=raw,
            # The offer's id ("#<ask id>" in our offers) is not in the instance: type without it.
            instance_type=f"{gpu_name} x{gpus}" if gpu_name else "",
            region=readable_region(body.get("geolocation")),
            gpu_raw_name=gpu_name,
            gpu_count=Decimal(gpus),
            price_per_hour=None if body.get("dph_total") is None else to_decimal(body["dph_total"]),
            public_ip=public_ip,
            created_at=_utc(body.get("start_date")),
            client_token=token,
            **_ssh(body, public_ip),
        )
    except (BadPrice, TypeError, ValueError, OverflowError) as exc:
        raise BadResponse(f"instance {instance_id}: {exc}", provider=NAME) from exc


def parse_instances(items: list[Any], status_map: Mapping[str, InstanceStatus]) -> list[Instance]:
    return [parse_instance(item, status_map) for item in items]


def _ssh(body: Mapping[str, Any], public_ip: str | None) -> dict[str, Any]:
    ports = body.get("ports")
    mapped = ports.get("22/tcp") if isinstance(ports, Mapping) else None
    host_port = mapped[0].get("HostPort") if isinstance(mapped, list) and mapped and isinstance(mapped[0], Mapping) else None
    if public_ip and host_port:
        return {"ssh_host": public_ip, "ssh_port": int(host_port), "ssh_user": "root"}
    if body.get("ssh_host") and body.get("ssh_port"):
        return {"ssh_host": str(body["ssh_host"]), "ssh_port": int(body["ssh_port"]), "ssh_user": "root"}
    return {}


def _split_label(label: Any) -> tuple[str, str]:
    text = str(label or "")
    match = _TOKEN_SUFFIX.search(text)
    if match is None:
        return text, ""
    return text[: match.start()], match.group("token")


def _utc(epoch: Any) -> datetime | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(float(epoch), tz=timezone.utc)
