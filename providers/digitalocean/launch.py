"""What `POST /droplets` needs: SSH key fingerprints on the account, an image, and a body.

- SSH key: DigitalOcean accepts a key's MD5 fingerprint, which we compute from the public key;
  the key is looked up by that fingerprint and added to the account when missing (a retried
  launch finds its own key). Without a public key, every key on the account is embedded: with
  none, DigitalOcean would e-mail a root password, so the launch is refused instead.
- Image: the user's slug or id, else DigitalOcean's AI/ML-ready GPU image for the size.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any

from providers.base import LaunchRequest
from providers.digitalocean.client import NAME, DigitalOceanClient
from providers.digitalocean.instances import client_token_tag
from providers.errors import InvalidRequest, NotFound

# GPU Droplets boot DigitalOcean's GPU base images (drivers installed). Slugs as DigitalOcean's
# GPU Droplet docs name them; AMD sizes have their own.
_NVIDIA_MULTI_GPU_IMAGE = "gpu-h100x8-base"
_NVIDIA_IMAGE = "gpu-h100x1-base"
_AMD_IMAGE = "gpu-amd-base"
_MULTI_GPU = re.compile(r"x8\b|x8-")
_NAME_CHARS = re.compile(r"[^A-Za-z0-9.-]+")  # Droplet names are hostnames
_NAME_MAX = 255


def default_image(size_slug: str) -> str:
    if "mi300" in size_slug or "mi325" in size_slug or "amd" in size_slug:
        return _AMD_IMAGE
    return _NVIDIA_MULTI_GPU_IMAGE if _MULTI_GPU.search(size_slug) else _NVIDIA_IMAGE


def fingerprint(public_key: str) -> str:
    """The MD5 fingerprint DigitalOcean shows for a key: hex pairs of the key blob, colon-joined."""
    parts = public_key.split()
    try:
        blob = base64.b64decode(parts[1], validate=True) if len(parts) >= 2 else b""
    except (binascii.Error, ValueError):
        blob = b""
    if not blob:
        raise InvalidRequest("that is not an OpenSSH public key (`ssh-ed25519 AAAA...`)", provider=NAME)
    digest = hashlib.md5(blob).hexdigest()  # noqa: S324 - DigitalOcean's identifier, not security
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


async def ssh_key_fingerprints(client: DigitalOceanClient, request: LaunchRequest) -> list[str]:
    if not request.ssh_public_key:
        keys = [k for k in await client.ssh_keys() if isinstance(k, dict) and k.get("fingerprint")]
        if not keys:
            raise InvalidRequest(
                "add an SSH key to your DigitalOcean account (or paste one here) first", provider=NAME
            )
        return [str(k["fingerprint"]) for k in keys]
    wanted = fingerprint(request.ssh_public_key)
    try:
        await client.ssh_key(wanted)
    except NotFound:
        suffix = request.client_token or wanted.replace(":", "")[:16]
        await client.add_ssh_key(f"computehub-{suffix}", request.ssh_public_key)
    return [wanted]


def droplet_name(name: str) -> str:
    cleaned = _NAME_CHARS.sub("-", name).strip("-.")[:_NAME_MAX]
    return cleaned or "computehub"


def create_payload(request: LaunchRequest, fingerprints: list[str]) -> dict[str, Any]:
    # disk_gb is not sent: a GPU Droplet's disks are fixed by its size. No spot market exists.
    payload: dict[str, Any] = {
        "name": droplet_name(request.name),
        "region": request.region,
        "size": request.instance_type,
        "image": _image(request),
        "ssh_keys": fingerprints,
        "monitoring": False,
        "ipv6": False,
    }
    if request.client_token:
        payload["tags"] = [client_token_tag(request.client_token)]
    return payload


def _image(request: LaunchRequest) -> str | int:
    image = request.image.strip()
    if not image:
        return default_image(request.instance_type)
    return int(image) if image.isdigit() else image  # an id or a slug
