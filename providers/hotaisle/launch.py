"""What ``POST /teams/{team}/virtual_machines/`` needs: the specs of an available VM of the offer's shape.

Provision assigns "an available virtual machine matching the specified requirements", so the
launch sends the exact ``Specs`` the available list gives for the offer's instance type; none
listed means none free now (no capacity), before anything is provisioned.

SSH keys belong to the user, not to the VM: the pasted key is added to the account when it is not
there yet (409 "already registered" is fine); without one, the account must hold a key already.
"""

from __future__ import annotations

import logging
from typing import Any

from providers.base import LaunchRequest
from providers.errors import InvalidRequest, NoCapacity, ProviderError
from providers.hotaisle.client import NAME, HotAisleClient
from providers.hotaisle.instances import description_with_token
from providers.hotaisle.offers import instance_type_of

log = logging.getLogger(__name__)
_SPEC_FIELDS = ("cpu_cores", "ram_capacity", "disk_capacity", "gpus")


async def provision_specs(client: HotAisleClient, instance_type: str) -> dict[str, Any]:
    for item in await client.available():
        specs = item.get("Specs") if isinstance(item, dict) else None
        try:
            shape = instance_type_of(specs) if isinstance(specs, dict) and specs.get("gpus") else ""
        except (KeyError, TypeError, ValueError, IndexError):
            continue  # an item the offers skip too
        if shape == instance_type:
            return {key: specs[key] for key in _SPEC_FIELDS if key in specs}
    raise NoCapacity(f"no {instance_type} virtual machine is available at Hot Aisle now", provider=NAME)


async def ensure_ssh_key(client: HotAisleClient, request: LaunchRequest) -> None:
    keys = [k for k in await client.ssh_keys() if isinstance(k, dict)]
    if not request.ssh_public_key:
        if not keys:
            raise InvalidRequest("add an SSH key to your Hot Aisle account (or paste one here) first", provider=NAME)
        return
    kind, _, rest = request.ssh_public_key.strip().partition(" ")
    material = rest.split(" ")[0]
    if any(k.get("type") == kind and k.get("public_key") == material for k in keys):
        return
    try:
        await client.add_ssh_key(request.ssh_public_key.strip())
    except InvalidRequest as exc:
        if exc.status_code != 409:  # 409: already registered (e.g. by a retried launch)
            raise


async def label_with_token(client: HotAisleClient, vm: str, request: LaunchRequest) -> None:
    """Write our name and token into the VM's description. The VM exists already: a failure here
    must not fail the launch (the reconciler then finds it unlabelled, as an honest unknown)."""
    try:
        await client.describe(vm, description_with_token(request.name, request.client_token))
    except ProviderError as exc:
        log.warning("%s: could not label %s with its launch token: %s", NAME, vm, exc)
