"""What `POST /instances` needs: the GPU type and count behind the offer, an SSH key name, a body.

SSH key: the user's public key is reused when the account already holds it (matched on the key
material), else registered under a name derived from our client token, so a retried launch
finds its own key. FluidStack needs a key for every instance: without one pasted, the
account's first key is used, and with none the launch is refused.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from providers.base import LaunchRequest
from providers.errors import InvalidRequest
from providers.fluidstack.client import NAME, FluidStackClient
from providers.fluidstack.instances import name_with_token

DEFAULT_OS = "ubuntu_22_04_lts_nvidia"  # the NVIDIA-driver image public FluidStack clients boot
_INSTANCE_TYPE = re.compile(r"^(?P<gpu>[A-Za-z0-9_]+)\.(?P<count>\d+)x$")  # "H100_SXM5_80GB.8x"


def gpu_type_and_count(instance_type: str) -> tuple[str, int]:
    found = _INSTANCE_TYPE.match(instance_type)
    if not found or int(found["count"]) < 1:
        raise InvalidRequest(f"{instance_type!r} is not a FluidStack `<GPU type>.<count>x`", provider=NAME)
    return found["gpu"], int(found["count"])


async def ssh_key_name(client: FluidStackClient, request: LaunchRequest) -> str:
    keys = [k for k in await client.ssh_keys() if isinstance(k, dict) and isinstance(k.get("name"), str)]
    if not request.ssh_public_key:
        if not keys:
            raise InvalidRequest("add an SSH key to your FluidStack account (or paste one here) first", provider=NAME)
        return keys[0]["name"]
    wanted = _key_material(request.ssh_public_key)
    for key in keys:
        if _key_material(str(key.get("public_key") or "")) == wanted:
            return key["name"]
    suffix = request.client_token or hashlib.sha256(request.ssh_public_key.encode()).hexdigest()[:16]
    name = f"computehub-{suffix}"
    await client.add_ssh_key(name, request.ssh_public_key)
    return name


def create_payload(request: LaunchRequest, key_name: str) -> dict[str, Any]:
    # disk_gb is not sent: the configuration fixes the disk.
    gpu_type, gpu_count = gpu_type_and_count(request.instance_type)
    return {
        "name": name_with_token(request.name, request.client_token),
        "gpu_type": gpu_type,
        "gpu_count": gpu_count,
        "region": request.region,
        "operating_system_label": request.image or DEFAULT_OS,
        "ssh_key": key_name,
    }


def _key_material(public_key: str) -> tuple[str, ...]:
    return tuple(public_key.split()[:2])  # "<type> <base64>"; the comment may differ
