"""What `POST /instances` needs: the location id behind the offer's region, the shape, and a body.

Offers name a location by a readable label ("Manassas, United States"); the launch reads the
locations again and maps the label back to its id with the same rule (``offers._region_labels``).
The shape is the smallest deployable one the offer priced (1 GPU, ``MIN_VCPUS``, ``MIN_RAM_GB``,
at least ``MIN_STORAGE_GB``). TensorDock requires an SSH key in the request.
"""

from __future__ import annotations

from typing import Any

from providers.base import LaunchRequest
from providers.errors import InvalidRequest
from providers.tensordock.client import NAME, TensorDockClient
from providers.tensordock.instances import name_with_token
from providers.tensordock.offers import MIN_RAM_GB, MIN_STORAGE_GB, MIN_VCPUS, _region_labels

DEFAULT_IMAGE = "ubuntu2404"  # the docs' own example image


async def location_id(client: TensorDockClient, request: LaunchRequest) -> str:
    locations = [loc for loc in await client.locations() if isinstance(loc, dict) and isinstance(loc.get("gpus"), list)]
    for location, label in zip(locations, _region_labels(locations)):
        if request.region in (label, location.get("id")):
            if not any(isinstance(g, dict) and g.get("v0Name") == request.instance_type for g in location["gpus"]):
                break
            return str(location["id"])
    raise InvalidRequest(f"TensorDock no longer offers {request.instance_type} in {request.region}", provider=NAME)


def create_payload(request: LaunchRequest, location: str) -> dict[str, Any]:
    if not request.ssh_public_key:
        raise InvalidRequest("TensorDock needs an SSH public key for every instance: paste one here", provider=NAME)
    if request.disk_gb is not None and request.disk_gb < MIN_STORAGE_GB:
        raise InvalidRequest(f"TensorDock disks are at least {MIN_STORAGE_GB} GB", provider=NAME)
    return {"data": {"type": "virtualmachine", "attributes": {
        "name": name_with_token(request.name, request.client_token),
        "type": "virtualmachine",
        "image": request.image or DEFAULT_IMAGE,
        "resources": {
            "vcpu_count": MIN_VCPUS,
            "ram_gb": MIN_RAM_GB,
            "storage_gb": request.disk_gb or MIN_STORAGE_GB,
            "gpus": {request.instance_type: {"count": 1}},  # the offer is a 1-GPU shape
        },
        "location_id": location,
        "useDedicatedIp": True,  # SSH on port 22 of its own address
        "ssh_key": request.ssh_public_key,
    }}}
