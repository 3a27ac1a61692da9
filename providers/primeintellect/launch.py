"""What ``POST /api/v1/pods/`` needs: the availability item behind the offer, an SSH key, a body.

An offer is ``<cloud>/<gpuType>x<count>[/community]`` in a region (data centre, else country);
create wants that item's ``cloudId``, ``socket``, ``security`` and the cloud as ``provider.type``,
so the launch reads the availability list (filtered by GPU type and count) and takes the matching
item: none means it is no longer offered (no capacity), before anything is created.

SSH key: the pasted key is reused when the account holds it (same key material), else uploaded
under a name derived from our client token; without one the account's primary key is used.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from providers.base import LaunchRequest
from providers.errors import InvalidRequest, NoCapacity
from providers.primeintellect.client import NAME, PrimeIntellectClient
from providers.primeintellect.instances import name_with_token
from providers.primeintellect.offers import instance_type_of, region_of

_INSTANCE_TYPE = re.compile(r"^(?P<cloud>[^/]+)/(?P<gpu>[A-Za-z0-9_]+)x(?P<count>\d+)(?P<community>/community)?$")


def parse_instance_type(instance_type: str) -> tuple[str, str, int]:
    found = _INSTANCE_TYPE.match(instance_type)
    if not found or int(found["count"]) < 1:
        raise InvalidRequest(f"{instance_type!r} is not a Prime Intellect `<cloud>/<gpuType>x<count>`", provider=NAME)
    return found["cloud"], found["gpu"], int(found["count"])


async def listed_item(client: PrimeIntellectClient, request: LaunchRequest) -> dict[str, Any]:
    _cloud, gpu, count = parse_instance_type(request.instance_type)
    for item in await client.availability(gpu_type=gpu, gpu_count=str(count)):
        if not isinstance(item, dict) or not item.get("cloudId"):
            continue
        same_type = instance_type_of(str(item.get("provider")), str(item.get("gpuType")), item.get("gpuCount"),
                                     str(item.get("security") or "")) == request.instance_type
        if same_type and region_of(item) == request.region and (item.get("isSpot") is True) == request.spot:
            return item
    raise NoCapacity(f"Prime Intellect no longer offers {request.instance_type} in {request.region}", provider=NAME)


async def ssh_key_id(client: PrimeIntellectClient, request: LaunchRequest) -> str | None:
    if not request.ssh_public_key:
        return None  # the account's primary key
    wanted = _key_material(request.ssh_public_key)
    for key in await client.ssh_keys():
        if isinstance(key, dict) and key.get("id") and _key_material(str(key.get("publicKey") or "")) == wanted:
            return str(key["id"])
    suffix = request.client_token or hashlib.sha256(request.ssh_public_key.encode()).hexdigest()[:16]
    added = await client.add_ssh_key(f"computehub-{suffix}", request.ssh_public_key)
    if not added.get("id"):
        raise InvalidRequest("Prime Intellect did not return an id for the uploaded SSH key", provider=NAME)
    return str(added["id"])


def create_payload(request: LaunchRequest, item: dict[str, Any], key_id: str | None) -> dict[str, Any]:
    pod: dict[str, Any] = {
        "name": name_with_token(request.name, request.client_token),
        "cloudId": item["cloudId"],
        "gpuType": item["gpuType"],
        "socket": item["socket"],
        "gpuCount": item["gpuCount"],
        "security": item.get("security") or "secure_cloud",
    }
    if item.get("dataCenter"):
        pod["dataCenterId"] = item["dataCenter"]
    if item.get("country"):
        pod["country"] = item["country"]
    if request.image:
        pod["image"] = request.image
    if request.disk_gb:
        pod["diskSize"] = request.disk_gb
    if key_id:
        pod["sshKeyId"] = key_id
    return {"pod": pod, "provider": {"type": item["provider"]}}


def _key_material(public_key: str) -> tuple[str, ...]:
    return tuple(public_key.split()[:2])
