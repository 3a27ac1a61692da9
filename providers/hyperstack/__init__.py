"""Hyperstack (NexGen Cloud): offers and the instance lifecycle (start, stop, hard reboot)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from providers.base import (
    FetchResult,
    Instance,
    InstanceStatus,
    LaunchRequest,
    PriceBasis,
    Provider,
    SupportsReboot,
    SupportsStart,
    SupportsStop,
)
from providers.errors import BadResponse, NotFound
from providers.hyperstack.client import HyperstackClient
from providers.hyperstack.instances import parse_instance, parse_instances
from providers.hyperstack.launch import create_payload, environment_name, key_name
from providers.hyperstack.offers import PRICING_URL, parse_flavors, pricebook_rates


class HyperstackSource(SupportsStart, SupportsStop, SupportsReboot, Provider):
    NAME = "hyperstack"
    DISPLAY_NAME = "Hyperstack"
    HOMEPAGE = "https://www.hyperstack.cloud"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = True  # flavors and pricebook both need an api_key
    PRICE_BASIS = PriceBasis.INSTANCE
    PRICE_INCLUDES = ("The flavor per hour (GPU rate x GPUs): the flavor's vCPUs, RAM and ephemeral disk come with it; volumes and public IPs are billed apart.")
    KIND = "provider"
    SSH_USER = "ubuntu"  # its Ubuntu images log in as `ubuntu` (the API reports only the floating ip)

    LISTS_LAUNCH_TOKENS = True  # every listed instance carries its launch token (VM label computehub-ct-<token>)

    # `status` as documented in "States and Statuses of Virtual Machines" (infrahub docs).
    STATUS_MAP: Mapping[str, InstanceStatus] = {
        "CREATING": InstanceStatus.PROVISIONING,
        "BUILD": InstanceStatus.PROVISIONING,
        "ACTIVE": InstanceStatus.RUNNING,
        "ERROR": InstanceStatus.FAILED,
        "STOPPING": InstanceStatus.STOPPING,
        "SHUTOFF": InstanceStatus.STOPPED,
        # Not usable yet, running again soon: closest to a boot.
        "STARTING": InstanceStatus.PROVISIONING,
        "REBOOTING": InstanceStatus.PROVISIONING,
        "RESTORING": InstanceStatus.PROVISIONING,
        # Hibernation deallocates the GPU: the console treats it as a stop.
        "HIBERNATING": InstanceStatus.STOPPING,
        "HIBERNATED": InstanceStatus.STOPPED,
        # OpenStack-style values for a VM being removed (unconfirmed for Hyperstack).
        "DELETING": InstanceStatus.TERMINATING,
        "DELETED": InstanceStatus.TERMINATED,
    }

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.hyperstack}

    @property
    def client(self) -> HyperstackClient:
        return HyperstackClient(self.http, self.credentials["api_key"])

    async def fetch_offers(self) -> FetchResult:
        client = self.client
        # Concurrent (the API is slow); both are awaited so none is orphaned, then the first failure wins.
        groups, pricebook = await asyncio.gather(client.flavors(), client.pricebook(), return_exceptions=True)
        for outcome in (groups, pricebook):
            if isinstance(outcome, BaseException):
                raise outcome
        return parse_flavors(groups, pricebook_rates(pricebook))

    async def list_instances(self) -> list[Instance]:
        return parse_instances(await self.client.virtual_machines(), self.STATUS_MAP)

    async def get_instance(self, instance_id: str) -> Instance:
        return parse_instance(await self.client.virtual_machine(_vm_id(instance_id)), self.STATUS_MAP)

    async def create_instance(self, request: LaunchRequest) -> Instance:
        client = self.client
        environment = await environment_name(client, request.region)
        key = await key_name(client, request, environment)
        created = await client.create_virtual_machines(create_payload(request, environment, key))
        if len(created) != 1:
            raise BadResponse(f"create returned {len(created)} virtual machines, expected 1", provider=self.NAME)
        # The create answer holds the whole VM: no second call that could fail after the launch.
        return parse_instance(created[0], self.STATUS_MAP)

    async def terminate_instance(self, instance_id: str) -> None:
        try:  # not `already_gone_is_success`: a malformed id is also "gone", before any call
            await self.client.delete_virtual_machine(_vm_id(instance_id))
        except NotFound:
            return  # already gone: terminating is idempotent

    async def start_instance(self, instance_id: str) -> None:
        await self.client.vm_action(_vm_id(instance_id), "start")

    async def stop_instance(self, instance_id: str) -> None:
        await self.client.vm_action(_vm_id(instance_id), "stop")

    async def reboot_instance(self, instance_id: str) -> None:
        await self.client.vm_action(_vm_id(instance_id), "hard-reboot")

    async def verify_credentials(self) -> None:
        await self.client.first_virtual_machines_page()  # one small page; 401 -> InvalidCredentials


def _vm_id(instance_id: str) -> int:
    """Hyperstack VM ids are integers: anything else names no VM there."""
    if not (instance_id.isascii() and instance_id.isdigit()):
        raise NotFound(f"no virtual machine {instance_id!r}", provider=HyperstackSource.NAME)
    return int(instance_id)
