"""DigitalOcean Droplet bodies (`GET /droplets`, `GET /droplets/{id}`, the create answer) -> Instance.

The Droplet carries its size, so the price is the provider's own (``size.price_hourly``, USD
for the whole Droplet). Ids are integers at DigitalOcean and strings here. Our launch
idempotency key travels as a Droplet tag ``computehub-ct-<client_token>`` (see ``launch.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from providers.base import Instance, InstanceStatus, map_status
from providers.errors import BadResponse, NotFound
from providers.money import BadPrice, to_decimal

NAME = "digitalocean"
CLIENT_TOKEN_TAG_PREFIX = "computehub-ct-"
"""Tag names allow letters, digits, `-`, `_` and `:` (at most 255 characters)."""


def client_token_tag(client_token: str) -> str:
    return f"{CLIENT_TOKEN_TAG_PREFIX}{client_token}"


def droplet_id(instance_id: str) -> int:
    """Droplet ids are integers: anything else names no Droplet there."""
    if not (instance_id.isascii() and instance_id.isdigit()):
        raise NotFound(f"no Droplet {instance_id!r}", provider=NAME)
    return int(instance_id)


def parse_instance(body: Any, status_map: Mapping[str, InstanceStatus]) -> Instance:
    ident = body.get("id") if isinstance(body, dict) else None
    if not isinstance(ident, int) or isinstance(ident, bool):
        raise BadResponse("a Droplet without an integer `id`", provider=NAME)
    size = _object(body.get("size"))
    gpu = _object(size.get("gpu_info")) or _object(body.get("gpu_info"))
    raw_status = str(body.get("status") or "")
    try:
        return Instance(
            provider=NAME,
            instance_id=str(ident),
            name=str(body.get("name") or ""),
            status=map_status(NAME, status_map, raw_status),
            raw_status=raw_status,
            instance_type=str(body.get("size_slug") or size.get("slug") or ""),
            region=str(_object(body.get("region")).get("slug") or ""),
            gpu_raw_name=str(gpu.get("model") or ""),
            gpu_count=Decimal(int(gpu.get("count") or 0)),
            price_per_hour=None if size.get("price_hourly") is None else to_decimal(size["price_hourly"]),
            public_ip=_public_ipv4(body.get("networks")),
            created_at=_utc(body.get("created_at")),
            client_token=_client_token(body.get("tags")),
        )
    except (BadPrice, TypeError, ValueError) as exc:
        raise BadResponse(f"Droplet {ident}: {exc}", provider=NAME) from exc


def parse_instances(items: list, status_map: Mapping[str, InstanceStatus]) -> list[Instance]:
    return [parse_instance(item, status_map) for item in items]


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _public_ipv4(networks: Any) -> str | None:
    for network in _object(networks).get("v4") or []:
        if isinstance(network, Mapping) and network.get("type") == "public" and network.get("ip_address"):
            return str(network["ip_address"])
    return None  # a new Droplet has no address yet


def _utc(raw: Any) -> datetime | None:
    if not raw:
        return None
    when = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def _client_token(tags: Any) -> str:
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, str) and tag.startswith(CLIENT_TOKEN_TAG_PREFIX):
            return tag.removeprefix(CLIENT_TOKEN_TAG_PREFIX)
    return ""
