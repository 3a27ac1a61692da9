"""CUDO VM bodies (`GET /projects/{p}/vms`, `GET /projects/{p}/vms/{id}`) -> our Instance.

The VM id is the one we chose at create (``vmId``). Our launch idempotency key travels in the
VM's ``metadata`` map under ``computehub-client-token`` (see ``launch.py``). ``instance_type``
is ``<machineType>/<gpuModelId>``, the identity CUDO offers have here (``offers.py``).
gRPC-gateway JSON may omit zero values and may write integers as strings. The VM carries its
own price (``price.totalPriceHr``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from providers.base import Instance, InstanceStatus, map_status
from providers.errors import BadResponse
from providers.money import BadPrice, to_decimal

NAME = "cudo"
CLIENT_TOKEN_KEY = "computehub-client-token"


def parse_instance(body: Any, status_map: Mapping[str, InstanceStatus]) -> Instance:
    vm_id = body.get("id") if isinstance(body, dict) else None
    if not isinstance(vm_id, str) or not vm_id:
        raise BadResponse("a VM without an `id`", provider=NAME)
    raw_status = str(body.get("state") or "")
    machine_type = str(body.get("machineType") or "")
    gpu_model_id = str(body.get("gpuModelId") or body.get("gpuModel") or "")
    try:
        return Instance(
            provider=NAME,
            instance_id=vm_id,
            name=vm_id,  # CUDO VMs have no name besides their id
            status=map_status(NAME, status_map, raw_status),
            raw_status=raw_status,
            instance_type=f"{machine_type}/{gpu_model_id}" if gpu_model_id else machine_type,
            region=str(body.get("datacenterId") or ""),
            gpu_raw_name=str(body.get("gpuModel") or ""),
            gpu_count=Decimal(int(body.get("gpuQuantity") or 0)),
            price_per_hour=_price(body.get("price")),
            public_ip=body.get("publicIpAddress") or body.get("externalIpAddress") or None,
            created_at=_utc(body.get("createTime")),
            client_token=str(_object(body.get("metadata")).get(CLIENT_TOKEN_KEY) or ""),
        )
    except (BadPrice, TypeError, ValueError) as exc:
        raise BadResponse(f"VM {vm_id}: {exc}", provider=NAME) from exc


def parse_instances(items: list, status_map: Mapping[str, InstanceStatus]) -> list[Instance]:
    return [parse_instance(item, status_map) for item in items]


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _price(price: Any) -> Decimal | None:
    """`price.totalPriceHr` is a Decimal message, `{"value": "<decimal>"}`, USD for the whole VM."""
    total = _object(price).get("totalPriceHr")
    value = total.get("value") if isinstance(total, Mapping) else total
    return None if value in (None, "") else to_decimal(value)


def _utc(raw: Any) -> datetime | None:
    if not raw:
        return None
    when = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
