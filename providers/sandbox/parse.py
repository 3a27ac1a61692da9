"""Sandbox API bodies -> our types. Prices arrive as decimal strings, per instance-hour."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from providers.base import FetchResult, HealthAnswer, Instance, InstanceStatus, Offer, map_status
from providers.errors import BadResponse
from providers.money import BadPrice, to_decimal
from providers.sandbox.cloud import PREEMPTED

NAME = "sandbox"
PRICING_URL = "https://sandbox.computehub.invalid/pricing"


def _data(body: Any, what: str) -> list:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise BadResponse(f"{what}: response has no `data` list", provider=NAME)
    return data


def parse_offers(body: Any) -> FetchResult:
    result = FetchResult()
    for row in _data(body, "offers"):
        label = f"{row.get('instance_type')}@{row.get('region')}" if isinstance(row, dict) else repr(row)[:60]
        try:
            result.offers.append(_offer(row))
        except (BadPrice, KeyError, TypeError, ValueError) as exc:
            result.skip(NAME, label, str(exc) or type(exc).__name__)
    return result


def _offer(row: Mapping[str, Any]) -> Offer:
    gpu = row["gpu"]
    return Offer(
        source=NAME,
        instance_type=row["instance_type"],
        gpu_raw_name=gpu["name"],
        gpu_count=Decimal(int(gpu["count"])),
        price_per_hour=to_decimal(row["price_per_hour"]),
        region=row["region"],
        spot=bool(row["spot"]),
        available=row.get("available"),
        gpu_memory_gb=gpu.get("memory_gb"),
        vcpus=row.get("vcpus"),
        ram_gb=row.get("ram_gb"),
        disk_gb=row.get("disk_gb"),
        buy_url=PRICING_URL,
    )


def parse_instance(body: Any, status_map: Mapping[str, InstanceStatus]) -> Instance:
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        raise BadResponse("an instance without an `id`", provider=NAME)
    gpu = body.get("gpu") if isinstance(body.get("gpu"), dict) else {}
    price = body.get("price_per_hour")
    created = body.get("created_at")
    tags = body.get("tags") if isinstance(body.get("tags"), dict) else {}
    try:
        return Instance(
            provider=NAME,
            instance_id=body["id"],
            name=str(body.get("name") or ""),
            status=map_status(NAME, status_map, body.get("status")),
            raw_status=str(body.get("status") or ""),
            instance_type=str(body.get("instance_type") or ""),
            region=str(body.get("region") or ""),
            gpu_raw_name=str(gpu.get("name") or ""),
            gpu_count=Decimal(int(gpu.get("count") or 0)),
            price_per_hour=None if price is None else to_decimal(price),
            public_ip=body.get("public_ip") or None,
            created_at=datetime.fromisoformat(created) if created else None,
            client_token=str(tags.get("client_token") or ""),
            preempted=body.get("status") == PREEMPTED,
        )
    except (BadPrice, TypeError, ValueError) as exc:
        raise BadResponse(f"instance {body['id']}: {exc}", provider=NAME) from exc


def parse_instances(body: Any, status_map: Mapping[str, InstanceStatus]) -> list[Instance]:
    return [parse_instance(item, status_map) for item in _data(body, "instances")]


def parse_health(body: Any) -> HealthAnswer:
    healthy = body.get("healthy") if isinstance(body, dict) else None
    detail = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(healthy, bool) or not isinstance(detail, str):
        raise BadResponse("health: response needs `healthy` (boolean) and `detail` (string)", provider=NAME)
    return HealthAnswer(healthy, detail)
