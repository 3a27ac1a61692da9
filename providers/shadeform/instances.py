"""Shadeform instance bodies (``GET /instances`` items, ``GET /instances/{id}/info``) -> our Instance.

Shadeform runs each instance on an underlying cloud; ``instance_type`` keeps that cloud as the
offers do, ``<cloud>/<cloud_instance_type>`` (e.g. ``massedcompute/gpu_1x_a6000``), so the
console shows where the machine really runs and an instance matches the offer it came from.
Our launch idempotency key travels as a tag, ``computehub-ct-<token>``: both the list and the
info body carry ``tags``. ``hourly_price`` is integer US cents.
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

NAME = "shadeform"
TOKEN_TAG_PREFIX = "computehub-ct-"
_TOKEN_TAG = re.compile(rf"^{TOKEN_TAG_PREFIX}([0-9a-f]{{32}})$")


def token_tag(client_token: str) -> str:
    return f"{TOKEN_TAG_PREFIX}{client_token}"


def client_token_of(tags: Any) -> str:
    for tag in tags if isinstance(tags, list) else []:
        found = _TOKEN_TAG.match(tag) if isinstance(tag, str) else None
        if found:
            return found.group(1)
    return ""


def instance_type(cloud: str, cloud_instance_type: str) -> str:
    return f"{cloud}/{cloud_instance_type}" if cloud and cloud_instance_type else ""


def parse_instance(body: Any, status_map: Mapping[str, InstanceStatus]) -> Instance:
    ident = body.get("id") if isinstance(body, dict) else None
    if not isinstance(ident, str) or not ident:
        raise BadResponse("an instance without an `id`", provider=NAME)
    raw_status = str(body.get("status") or "")
    config = body.get("configuration") if isinstance(body.get("configuration"), dict) else {}
    try:
        cents = body.get("hourly_price")
        port = body.get("ssh_port")
        created = body.get("created_at")
        return Instance(
            provider=NAME,
            instance_id=ident,
            name=str(body.get("name") or ""),
            status=map_status(NAME, status_map, raw_status),
            raw_status=raw_status,
            instance_type=instance_type(str(body.get("cloud") or ""), str(body.get("cloud_instance_type") or "")),
            region=str(body.get("region") or ""),
            gpu_raw_name=str(config.get("gpu_type") or "").replace("_", " "),  # as the offers spell it
            gpu_count=Decimal(int(config.get("num_gpus") or 0)),
            price_per_hour=None if cents is None else to_decimal(cents) / 100,
            public_ip=body.get("ip") or None,
            created_at=_utc(created),
            client_token=client_token_of(body.get("tags")),
            ssh_port=int(port) if port not in (None, "", 22, "22") else None,
            ssh_user=body.get("ssh_user") or None,
        )
    except (BadPrice, TypeError, ValueError) as exc:
        raise BadResponse(f"instance {ident}: {exc}", provider=NAME) from exc


def _utc(raw: Any) -> datetime | None:
    """``created_at`` is documented as UTC date-time; one written without an offset is UTC too."""
    if not isinstance(raw, str) or not raw:
        return None
    when = datetime.fromisoformat(raw)
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def parse_instances(items: list, status_map: Mapping[str, InstanceStatus]) -> list[Instance]:
    return [parse_instance(item, status_map) for item in items]
