"""Lambda instance bodies (`GET /instances`, `GET /instances/{id}`) -> our Instance.

Lambda reports the instance-type price (integer US cents per instance-hour) inside each
instance, so the price is the provider's own. The API has no creation time.
Our launch idempotency key travels as an instance tag (see ``launch.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from providers.base import Instance, InstanceStatus, map_status
from providers.errors import BadResponse
from providers.money import BadPrice, to_decimal

NAME = "lambdalabs"
CLIENT_TOKEN_TAG = "computehub-client-token"
"""Tag key holding LaunchRequest.client_token (Lambda tag keys: ^[a-z][a-z0-9-:]+$, <= 55 chars)."""


def parse_instance(body: Any, status_map: Mapping[str, InstanceStatus]) -> Instance:
    if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not body["id"]:
        raise BadResponse("an instance without an `id`", provider=NAME)
    itype = _object(body.get("instance_type"))
    specs = _object(itype.get("specs"))
    raw_status = body.get("status")
    try:
        return Instance(
            provider=NAME,
            instance_id=body["id"],
            name=str(body.get("name") or ""),
            status=map_status(NAME, status_map, raw_status),
            raw_status=str(raw_status or ""),
            instance_type=str(itype.get("name") or ""),
            region=str(_object(body.get("region")).get("name") or ""),
            gpu_raw_name=str(itype.get("gpu_description") or ""),
            gpu_count=Decimal(int(specs.get("gpus") or 0)),
            price_per_hour=_price(itype.get("price_cents_per_hour")),
            public_ip=body.get("ip") or None,
            client_token=_client_token(body.get("tags")),
        )
    except (BadPrice, TypeError, ValueError) as exc:
        raise BadResponse(f"instance {body['id']}: {exc}", provider=NAME) from exc


def parse_instances(data: Any, status_map: Mapping[str, InstanceStatus]) -> list[Instance]:
    if not isinstance(data, list):
        raise BadResponse("`data` is not a list of instances", provider=NAME)
    return [parse_instance(item, status_map) for item in data]


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _price(cents: Any) -> Decimal | None:
    return None if cents is None else to_decimal(cents) / 100


def _client_token(tags: Any) -> str:
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, Mapping) and tag.get("key") == CLIENT_TOKEN_TAG:
            return str(tag.get("value") or "")
    return ""
