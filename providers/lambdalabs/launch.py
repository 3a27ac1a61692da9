"""What `POST /instance-operations/launch` needs: exactly one registered SSH key name, and a body.

SSH key: the user's public key is reused when the account already holds it (matched on the
key material, not the comment), else registered under a name derived from our client token,
so a retried launch finds its own key. Without a public key, the account's first key is used.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from providers.base import LaunchRequest
from providers.errors import BadResponse, InvalidRequest
from providers.lambdalabs.client import NAME, AlreadyExists, LambdaClient
from providers.lambdalabs.instances import CLIENT_TOKEN_TAG

_NAME_MAX = 64  # instance and SSH key names
_IMAGE_ID = re.compile(r"^[0-9a-f]{32}$")  # image ids look like this; anything else is a family


async def ssh_key_name(client: LambdaClient, request: LaunchRequest) -> str:
    keys = await client.ssh_keys()
    if not isinstance(keys, list):
        raise BadResponse("`data` is not a list of SSH keys", provider=NAME)
    keys = [k for k in keys if isinstance(k, dict) and isinstance(k.get("name"), str)]
    if not request.ssh_public_key:
        if not keys:
            raise InvalidRequest("add an SSH key to your Lambda account (or paste one here) first", provider=NAME)
        return keys[0]["name"]
    wanted = _key_material(request.ssh_public_key)
    for key in keys:
        if _key_material(str(key.get("public_key") or "")) == wanted:
            return key["name"]
    name = _key_name(request)
    try:
        await client.add_ssh_key(name, request.ssh_public_key)
    except AlreadyExists:
        pass  # registered by an earlier attempt of this same launch
    return name


def launch_body(request: LaunchRequest, key_name: str) -> dict[str, Any]:
    # disk_gb is not sent: Lambda's storage is fixed by the instance type.
    body: dict[str, Any] = {
        "region_name": request.region,
        "instance_type_name": request.instance_type,
        "ssh_key_names": [key_name],
        "name": request.name[:_NAME_MAX],
    }
    if request.image:
        body["image"] = {"id": request.image} if _IMAGE_ID.match(request.image) else {"family": request.image}
    if request.client_token:
        body["tags"] = [{"key": CLIENT_TOKEN_TAG, "value": request.client_token}]
    return body


def _key_material(public_key: str) -> tuple[str, ...]:
    return tuple(public_key.split()[:2])  # "<type> <base64>"; the comment may differ


def _key_name(request: LaunchRequest) -> str:
    suffix = request.client_token or hashlib.sha256(request.ssh_public_key.encode()).hexdigest()[:16]
    return f"computehub-{suffix}"[:_NAME_MAX]
