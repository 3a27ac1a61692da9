"""What `POST /instances` needs: SSH key ids, a hostname, and a body.

- SSH keys (Verda puts them on the instance at create): the user's public key is reused when the
  account already holds it (matched on the key material, not the comment), else added under a
  name derived from our client token; without a pasted key, every key of the account is used.
- Hostname: the user's name, reduced to what a hostname may hold. The description carries our
  client token (see ``instances.py``).
- Region: the offer's location code; "any" marks a type sold out everywhere (see ``offers.py``).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from providers.base import LaunchRequest
from providers.errors import InvalidRequest, NoCapacity
from providers.verda.client import NAME, VerdaClient
from providers.verda.instances import description_with_token
from providers.verda.offers import NOWHERE

DEFAULT_IMAGE = "ubuntu-24.04-cuda-12.8-open-docker"
"""A CUDA-ready image (the SDK's examples use it), used when the launch names none."""
_HOSTNAME_MAX = 60
_NOT_IN_HOSTNAME = re.compile(r"[^a-z0-9-]+")


async def ssh_key_ids(client: VerdaClient, request: LaunchRequest) -> list[str]:
    keys = [k for k in await client.ssh_keys() if isinstance(k, dict) and isinstance(k.get("id"), str)]
    if not request.ssh_public_key:
        if not keys:
            raise InvalidRequest("add an SSH key to your Verda account (or paste one here) first", provider=NAME)
        return [k["id"] for k in keys]
    wanted = _key_material(request.ssh_public_key)
    for key in keys:
        if _key_material(str(key.get("key") or "")) == wanted:
            return [key["id"]]
    return [await client.add_ssh_key(_key_name(request), request.ssh_public_key)]


def require_location(request: LaunchRequest) -> None:
    if request.region == NOWHERE:
        raise NoCapacity(f"{request.instance_type} is sold out in every Verda location", provider=NAME)


def launch_body(request: LaunchRequest, key_ids: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "instance_type": request.instance_type,
        "image": request.image or DEFAULT_IMAGE,
        "ssh_key_ids": key_ids,
        "location_code": request.region,
        "hostname": hostname(request.name),
        "description": description_with_token(request.name, request.client_token),
        "is_spot": request.spot,
    }
    if request.disk_gb:
        body["os_volume"] = {"name": f"{body['hostname']}-os", "size": request.disk_gb}
    return body


def hostname(name: str) -> str:
    cleaned = _NOT_IN_HOSTNAME.sub("-", name.lower()).strip("-")[:_HOSTNAME_MAX].strip("-")
    if not cleaned:
        raise InvalidRequest(f"no hostname can be made from {name!r}", provider=NAME)
    return cleaned


def _key_material(public_key: str) -> tuple[str, ...]:
    return tuple(public_key.split()[:2])  # "<type> <base64>"; the comment may differ


def _key_name(request: LaunchRequest) -> str:
    suffix = request.client_token or hashlib.sha256(request.ssh_public_key.encode()).hexdigest()[:16]
    return f"computehub-{suffix}"
