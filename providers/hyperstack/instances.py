"""Hyperstack VM bodies (`Instance_Fields`) -> our Instance.

A VM carries no price (the pricebook prices GPU models, not VMs), so ``price_per_hour`` is
None. Ids are integers at Hyperstack and strings here. Our launch idempotency key travels as a
VM label ``computehub-ct-<client_token>`` (see ``launch.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from providers.base import Instance, InstanceStatus, map_status
from providers.errors import BadResponse

NAME = "hyperstack"
CLIENT_TOKEN_LABEL_PREFIX = "computehub-ct-"


def client_token_label(client_token: str) -> str:
    return f"{CLIENT_TOKEN_LABEL_PREFIX}{client_token}"


def parse_instance(body: Any, status_map: Mapping[str, InstanceStatus]) -> Instance:
    vm_id = body.get("id") if isinstance(body, dict) else None
    if not isinstance(vm_id, int) or isinstance(vm_id, bool):
        raise BadResponse("a virtual machine without an integer `id`", provider=NAME)
    flavor = _object(body.get("flavor"))
    raw_status = str(body.get("status") or "")
    try:
        return Instance(
            provider=NAME,
            instance_id=str(vm_id),
            name=str(body.get("name") or ""),
            # Documented in capitals (ACTIVE, SHUTOFF...); third-party clients lower-case them.
            status=map_status(NAME, status_map, raw_status.upper()),
            raw_status=raw_status,
            instance_type=str(flavor.get("name") or ""),
            region=str(_object(body.get("environment")).get("region") or ""),
            gpu_raw_name=str(flavor.get("gpu") or ""),
            gpu_count=Decimal(int(flavor.get("gpu_count") or 0)),
            public_ip=body.get("floating_ip") or None,
            created_at=_utc(body.get("created_at")),
            client_token=_client_token(body.get("labels")),
        )
    except (TypeError, ValueError) as exc:
        raise BadResponse(f"virtual machine {vm_id}: {exc}", provider=NAME) from exc


def parse_instances(items: list, status_map: Mapping[str, InstanceStatus]) -> list[Instance]:
    return [parse_instance(item, status_map) for item in items]


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _utc(raw: Any) -> datetime | None:
    if not raw:
        return None
    when = datetime.fromisoformat(str(raw))
    # Hyperstack writes naive timestamps ("2025-03-11T09:30:00"); read as UTC (the API does not say).
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def _client_token(labels: Any) -> str:
    for label in labels if isinstance(labels, list) else []:
        if isinstance(label, str) and label.startswith(CLIENT_TOKEN_LABEL_PREFIX):
            return label.removeprefix(CLIENT_TOKEN_LABEL_PREFIX)
    return ""
