"""The console API's JSON shapes. Money is a string with 6 decimals; times are ISO 8601 UTC."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from msgspec import Meta, Struct

from app.console.overview import DeploymentView
from app.console.bindings import BindingView

Money = Annotated[str, Meta(pattern=r"^\d+\.\d{6}$", description="USD, exact decimal as a string")]
Operation = Literal["start", "stop", "reboot", "delete"]


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.6f}"


class DeploymentOut(Struct):
    id: int
    name: str
    provider: str
    key_label: str | None
    gpu: str
    instance_type: str
    region: str
    spot: bool
    status: str
    """launching | provisioning | running | stopping | stopped | terminating | terminated | failed | unknown"""
    status_since: datetime
    price_per_hour: Money | None
    ssh_command: str | None
    last_error: str | None
    created_at: datetime
    available_actions: list[Operation]
    """What can be done now (the console's buttons); the others are refused with the reason."""

    @classmethod
    def of(cls, view: DeploymentView) -> "DeploymentOut":
        return cls(id=view.id, name=view.name, provider=view.provider, key_label=view.binding_label, gpu=view.gpu,
                   instance_type=view.instance_type, region=view.region, spot=view.spot, status=view.status,
                   status_since=view.status_since, price_per_hour=money(view.price_per_hour),
                   ssh_command=view.ssh_command, last_error=view.last_error, created_at=view.created_at,
                   available_actions=[op for op, reason in view.operations.items() if reason is None])


class KeyOut(Struct):
    id: int
    provider: str
    label: str
    status: str
    masked_key: str
    """The key's last characters, masked: never the key."""
    needs_attention: bool

    @classmethod
    def of(cls, view: BindingView) -> "KeyOut":
        return cls(id=view.id, provider=view.provider, label=view.label, status=view.status,
                   masked_key=view.masked_key, needs_attention=view.needs_attention)


class LaunchIn(Struct, forbid_unknown_fields=True):
    offer_id: Annotated[int, Meta(ge=1, le=2**31 - 1, description="an offer id from /api/v1/prices")]
    key_id: Annotated[int, Meta(ge=1, le=2**31 - 1, description="one of your provider keys for the offer's provider")]
    name: Annotated[str, Meta(min_length=1, max_length=63)]
    image: Annotated[str, Meta(max_length=255)] = ""
    disk_gb: Annotated[int, Meta(ge=10, le=65536)] | None = None
    ssh_public_key: Annotated[str, Meta(max_length=16384)] = ""
