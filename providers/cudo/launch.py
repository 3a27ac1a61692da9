"""What `POST /projects/{p}/vm` needs: the VM shape the offer priced, an id, and a body.

CUDO sells GPUs with a buyer-chosen vCPU and RAM amount. The offer priced the smallest valid
1-GPU shape (``offers.smallest_shape``), so the launch reads the machine type from the public
catalogue again and asks for that same shape: the user gets the machine the price was for.
"""

from __future__ import annotations

import re
from typing import Any

from providers.base import LaunchRequest
from providers.cudo.client import NAME, CudoClient
from providers.cudo.instances import CLIENT_TOKEN_KEY
from providers.cudo.offers import BOOT_DISK_GIB, smallest_shape
from providers.errors import InvalidRequest

DEFAULT_IMAGE = "ubuntu-2204-nvidia-535-docker-v20240214"
"""A public image with NVIDIA drivers (the one public CUDO clients boot GPU VMs from)."""
_ID_CHARS = re.compile(r"[^a-z0-9-]+")  # VM ids: lower-case letters, digits and hyphens
_ID_MAX = 60


def split_instance_type(instance_type: str) -> tuple[str, str]:
    machine_type, _, gpu_model_id = instance_type.partition("/")
    if not machine_type or not gpu_model_id:
        raise InvalidRequest(f"{instance_type!r} is not a CUDO `<machine type>/<GPU model>`", provider=NAME)
    return machine_type, gpu_model_id


async def machine_shape(client: CudoClient, request: LaunchRequest) -> tuple[int, int]:
    """(vCPUs, GiB RAM) of the offer's smallest 1-GPU shape, read from the current catalogue."""
    machine_type, gpu_model_id = split_instance_type(request.instance_type)
    for item in await client.machine_types():
        if (isinstance(item, dict) and item.get("dataCenterId") == request.region
                and item.get("machineType") == machine_type
                and (item.get("gpuModelId") or item.get("gpuModel")) == gpu_model_id):
            try:
                return smallest_shape(item)
            except ValueError as exc:
                raise InvalidRequest(f"{request.instance_type}: {exc}", provider=NAME) from exc
    raise InvalidRequest(
        f"CUDO no longer sells {request.instance_type} in {request.region}", provider=NAME
    )


def vm_id(request: LaunchRequest) -> str:
    """Our name, made a valid VM id; the client token's start makes a retry reuse the same id."""
    base = _ID_CHARS.sub("-", request.name.lower()).strip("-") or "computehub"
    if not request.client_token:
        return base[:_ID_MAX]
    suffix = request.client_token[:8].lower()
    return f"{base[:_ID_MAX - len(suffix) - 1]}-{suffix}"


def create_payload(request: LaunchRequest, vcpus: int, memory_gib: int) -> dict[str, Any]:
    machine_type, gpu_model_id = split_instance_type(request.instance_type)
    payload: dict[str, Any] = {
        "vmId": vm_id(request),
        "dataCenterId": request.region,
        "machineType": machine_type,
        "gpuModelId": gpu_model_id,
        "gpus": 1,  # the offer is a 1-GPU shape
        "vcpus": vcpus,
        "memoryGib": memory_gib,
        "bootDiskImageId": request.image or DEFAULT_IMAGE,
        "bootDisk": {"sizeGib": request.disk_gb or BOOT_DISK_GIB, "storageClass": "STORAGE_CLASS_NETWORK"},
        # The keys on the user's CUDO account, plus the one pasted here.
        "sshKeySource": "SSH_KEY_SOURCE_USER",
    }
    if request.ssh_public_key:
        payload["customSshKeys"] = [request.ssh_public_key]
    if request.client_token:
        payload["metadata"] = {CLIENT_TOKEN_KEY: request.client_token}
    return payload
