"""Verda instance objects (`GET /instances`, `GET /instances/{id}`) -> our Instance.

Fields as in verda-cloud/sdk-python `Instance`: `price_per_hour` is USD per instance-hour (a
number here, a decimal string in the price list), `location` is the location code, `hostname`
the instance's name. Our launch idempotency key travels in the `description`, as a suffix
``"<name> [computehub <client_token>]"`` (see ``launch.py``): the hostname stays the user's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from providers.base import Instance, InstanceStatus, map_status
from providers.errors import BadResponse
from providers.money import BadPrice, to_decimal
from providers.verda.offers import gpu_name

NAME = "verda"
_TOKEN_SUFFIX = re.compile(r"\[computehub (?P<token>[^\]\s]+)\]\s*$")


def description_with_token(name: str, client_token: str) -> str:
    return f"{name} [computehub {client_token}]" if client_token else name


def parse_instance(body: Any, status_map: Mapping[str, InstanceStatus]) -> Instance:
    instance_id = body.get("id") if isinstance(body, dict) else None
    if not isinstance(instance_id, str) or not instance_id:
        raise BadResponse("an instance without an `id`", provider=NAME)
    gpu = _object(body.get("gpu"))
    raw_status = body.get("status")
    try:
        return Instance(
            provider=NAME,
            instance_id=instance_id,
            name=str(body.get("hostname") or ""),
            status=map_status(NAME, status_map, raw_status),
            raw_status=str(raw_status or ""),
            instance_type=str(body.get("instance_type") or ""),
            region=str(body.get("location") or ""),
            gpu_raw_name=gpu_name(gpu.get("description")),
            gpu_count=Decimal(int(gpu.get("number_of_gpus") or 0)),
            price_per_hour=None if body.get("price_per_hour") is None else to_decimal(body["price_per_hour"]),
            public_ip=body.get("ip") or None,
            created_at=_utc(body.get("created_at")),
            client_token=_client_token(body.get("description")),
        )
    except (BadPrice, TypeError, ValueError) as exc:
        raise BadResponse(f"instance {instance_id}: {exc}", provider=NAME) from exc


def parse_instances(items: list[Any], status_map: Mapping[str, InstanceStatus]) -> list[Instance]:
    return [parse_instance(item, status_map) for item in items]


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _client_token(description: Any) -> str:
    match = _TOKEN_SUFFIX.search(str(description or ""))
    return match.group("token") if match else ""


def _utc(raw: Any) -> datetime | None:
    """ISO 8601 (the SDK types it as a plain string); naive values are read as UTC."""
    if not raw:
        return None
    when = datetime.fromisoformat(str(raw))
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
