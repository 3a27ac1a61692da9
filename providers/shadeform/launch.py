"""What ``POST /instances/create`` needs: the underlying cloud, its Shadeform type, an SSH key, a body.

An offer's ``instance_type`` is ``<cloud>/<cloud_instance_type>``; create wants the cloud and the
*Shadeform* type (``shade_instance_type``, e.g. ``A6000``), which ``GET /instances/types`` gives
for that cloud type. The instance runs in Shade Cloud (``shade_cloud: true``: billed to the
Shadeform wallet, not to a linked cloud account).

SSH key: the user's public key is reused when the account already holds it (matched on the key
material), else registered under a name derived from our client token. Without a pasted key the
account's default key is used (create's documented default when ``ssh_key_id`` is omitted).
"""

from __future__ import annotations

import hashlib
from typing import Any

from providers.base import LaunchRequest
from providers.errors import InvalidRequest
from providers.shadeform.client import NAME, ShadeformClient
from providers.shadeform.instances import token_tag


def cloud_and_type(instance_type: str) -> tuple[str, str]:
    cloud, _, cloud_type = instance_type.partition("/")
    if not cloud or not cloud_type:
        raise InvalidRequest(f"{instance_type!r} is not a Shadeform `<cloud>/<cloud instance type>`", provider=NAME)
    return cloud, cloud_type


async def listed_type(client: ShadeformClient, cloud: str, cloud_type: str) -> dict[str, Any]:
    """The ``/instances/types`` item of this cloud type (its ``shade_instance_type``, configuration, price)."""
    for item in await client.instance_types(cloud=cloud):
        if isinstance(item, dict) and item.get("cloud") == cloud and item.get("cloud_instance_type") == cloud_type:
            shade_type = item.get("shade_instance_type")
            if isinstance(shade_type, str) and shade_type:
                return item
    raise InvalidRequest(f"Shadeform no longer lists {cloud}/{cloud_type}", provider=NAME)


async def ssh_key_id(client: ShadeformClient, request: LaunchRequest) -> str | None:
    if not request.ssh_public_key:
        return None
    wanted = _key_material(request.ssh_public_key)
    for key in await client.ssh_keys():
        if isinstance(key, dict) and _key_material(str(key.get("public_key") or "")) == wanted and key.get("id"):
            return str(key["id"])
    suffix = request.client_token or hashlib.sha256(request.ssh_public_key.encode()).hexdigest()[:16]
    added = await client.add_ssh_key(f"computehub-{suffix}", request.ssh_public_key)
    if not added.get("id"):
        raise InvalidRequest("Shadeform did not return an id for the added SSH key", provider=NAME)
    return str(added["id"])


def create_payload(request: LaunchRequest, cloud: str, shade_type: str, key_id: str | None) -> dict[str, Any]:
    # disk_gb is not sent: the instance type fixes the storage.
    payload: dict[str, Any] = {
        "cloud": cloud,
        "region": request.region,
        "shade_instance_type": shade_type,
        "shade_cloud": True,
        "name": request.name,
    }
    if request.image:
        payload["os"] = request.image
    if key_id:
        payload["ssh_key_id"] = key_id
    if request.client_token:
        payload["tags"] = [token_tag(request.client_token)]
    return payload


def _key_material(public_key: str) -> tuple[str, ...]:
    return tuple(public_key.split()[:2])  # "<type> <base64>"; the comment may differ
