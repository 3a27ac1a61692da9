"""What `POST /core/virtual-machines` needs: an environment in the offer's region, a key pair
in that environment, and a body.

- Environment: the account's first one in the region (we never create one: environments
  are the user's own network/quota boundaries).
- Key pair (per environment at Hyperstack): the user's public key is reused when that
  environment already holds it (matched on the key material), else imported under a name
  derived from our client token; without a public key, the environment's first key pair.
"""

from __future__ import annotations

import hashlib
from typing import Any

from providers.base import LaunchRequest
from providers.errors import InvalidRequest
from providers.hyperstack.client import NAME, Conflict, HyperstackClient
from providers.hyperstack.instances import client_token_label

DEFAULT_IMAGE = "Ubuntu Server 22.04 LTS R535 CUDA 12.2"
"""A GPU-ready public image, used when the launch names none (name as used by public clients)."""
_NAME_MAX = 50  # VM and key pair names


async def environment_name(client: HyperstackClient, region: str) -> str:
    for environment in await client.environments():
        if isinstance(environment, dict) and environment.get("region") == region and environment.get("name"):
            return str(environment["name"])
    raise InvalidRequest(
        f"create an environment in {region} in the Hyperstack console first", provider=NAME
    )


async def key_name(client: HyperstackClient, request: LaunchRequest, environment: str) -> str:
    keypairs = [
        k for k in await client.keypairs()
        if isinstance(k, dict) and k.get("name") and _object(k.get("environment")).get("name") == environment
    ]
    if not request.ssh_public_key:
        if not keypairs:
            raise InvalidRequest(
                f"add an SSH key pair to the Hyperstack environment {environment} (or paste one here) first",
                provider=NAME,
            )
        return str(keypairs[0]["name"])
    wanted = _key_material(request.ssh_public_key)
    for keypair in keypairs:
        if _key_material(str(keypair.get("public_key") or "")) == wanted:
            return str(keypair["name"])
    name = _keypair_name(request)
    try:
        await client.import_keypair(name, environment, request.ssh_public_key)
    except Conflict:
        pass  # imported by an earlier attempt of this same launch
    return name


def create_payload(request: LaunchRequest, environment: str, key: str) -> dict[str, Any]:
    # disk_gb is not sent: the root disk is fixed by the flavor. Spot is a flavor of its own
    # (`...-spot`), so `request.spot` is already in `instance_type`.
    payload: dict[str, Any] = {
        "name": request.name[:_NAME_MAX],
        "environment_name": environment,
        "image_name": request.image or DEFAULT_IMAGE,
        "flavor_name": request.instance_type,
        "key_name": key,
        "count": 1,
        "assign_floating_ip": True,  # a console user expects to reach the machine
    }
    if request.client_token:
        payload["labels"] = [client_token_label(request.client_token)]
    return payload


def _object(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _key_material(public_key: str) -> tuple[str, ...]:
    return tuple(public_key.split()[:2])  # "<type> <base64>"; the comment may differ


def _keypair_name(request: LaunchRequest) -> str:
    suffix = request.client_token or hashlib.sha256(request.ssh_public_key.encode()).hexdigest()[:16]
    return f"computehub-{suffix}"[:_NAME_MAX]
