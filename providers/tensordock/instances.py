"""TensorDock instance envelopes (`GET /instances`, `GET /instances/{id}`) -> our Instance.

TensorDock has no tags or metadata, so our launch idempotency key travels in the instance
name: ``<name>-computehub-<client_token>`` (see ``launch.py``); the name shown is without it.
``rateHourly`` is the instance's own USD price per hour. Without a dedicated IP, SSH answers on
the port forwarded to 22 (``portForwards``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from providers.base import Instance, InstanceStatus, map_status
from providers.errors import BadResponse
from providers.name_token import name_with_token, split_name  # noqa: F401 - used and re-exported
from providers.money import BadPrice, to_decimal

NAME = "tensordock"




def parse_instance(body: Any, status_map: Mapping[str, InstanceStatus]) -> Instance:
    ident = body.get("id") if isinstance(body, dict) else None
    if not isinstance(ident, str) or not ident:
        raise BadResponse("an instance without an `id`", provider=NAME)
    # The create answer puts name and status beside `id`; reads put them under `attributes`.
    attributes = {**body, **_object(body.get("attributes"))}
    name, token = split_name(str(attributes.get("name") or ""))
    raw_status = str(attributes.get("status") or "")
    resources = _object(attributes.get("resources"))
    gpu_name, gpu_count = _gpus(resources.get("gpus"))
    try:
        return Instance(
            provider=NAME,
            instance_id=ident,
            name=name,
            status=map_status(NAME, status_map, raw_status),
            raw_status=raw_status,
            instance_type=gpu_name,  # offers are keyed by the GPU's v0 name
            region=str(attributes.get("location_id") or ""),
            gpu_raw_name=gpu_name,
            gpu_count=Decimal(gpu_count),
            price_per_hour=None if attributes.get("rateHourly") is None else to_decimal(attributes["rateHourly"]),
            public_ip=attributes.get("ipAddress") or None,
            client_token=token,
            ssh_port=_ssh_port(attributes.get("portForwards")),
        )
    except (BadPrice, TypeError, ValueError) as exc:
        raise BadResponse(f"instance {ident}: {exc}", provider=NAME) from exc


def parse_instances(items: list, status_map: Mapping[str, InstanceStatus]) -> list[Instance]:
    return [parse_instance(item, status_map) for item in items]


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _gpus(gpus: Any) -> tuple[str, int]:
    """`[{"gpuV0Name", "count"}]` as read back, or `{"<v0Name>": {"count"}}` as sent at create."""
    if isinstance(gpus, list):
        entries = [(str(g.get("gpuV0Name") or ""), g.get("count")) for g in gpus if isinstance(g, Mapping)]
    elif isinstance(gpus, Mapping):
        entries = [(str(name), _object(spec).get("count")) for name, spec in gpus.items()]
    else:
        entries = []
    names = [name for name, _ in entries if name]
    count = sum(int(c) for _, c in entries if isinstance(c, int) and not isinstance(c, bool))
    return (names[0] if len(names) == 1 else "+".join(names)), count


def _ssh_port(forwards: Any) -> int | None:
    external = _object(forwards).get("22")
    if isinstance(external, int) and not isinstance(external, bool) and external != 22:
        return external
    return None
