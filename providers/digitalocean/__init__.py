"""DigitalOcean GPU Droplets: offers and the Droplet lifecycle (power on, power off, reboot)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

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
from providers.digitalocean.client import DigitalOceanClient
from providers.digitalocean.instances import droplet_id, parse_instance, parse_instances
from providers.digitalocean.launch import create_payload, ssh_key_fingerprints
from providers.digitalocean.offers import PRICING_URL, parse_sizes
from providers.errors import InvalidRequest, NotFound


class DigitalOceanSource(SupportsStart, SupportsStop, SupportsReboot, Provider):
    NAME = "digitalocean"
    DISPLAY_NAME = "DigitalOcean"
    HOMEPAGE = "https://www.digitalocean.com"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = True  # /v2/sizes needs a token (anonymous access unconfirmed)
    PRICE_BASIS = PriceBasis.INSTANCE
    PRICE_INCLUDES = ('The GPU Droplet per hour: its GPUs, vCPUs, RAM, boot and scratch disks and transfer allowance.')
    KIND = "provider"
    SSH_USER = "root"  # keys are embedded in the root account (the API says so for `ssh_keys`)

    # `status` as documented for the Droplet object: new, active, off, archive.
    STATUS_MAP: Mapping[str, InstanceStatus] = {
        "new": InstanceStatus.PROVISIONING,
        "active": InstanceStatus.RUNNING,
        "off": InstanceStatus.STOPPED,  # powered off, still billed: the hypervisor keeps it
        # Archived: kept by DigitalOcean but not running; not final, so the console keeps syncing it.
        "archive": InstanceStatus.STOPPED,
    }

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.digitalocean}

    @property
    def client(self) -> DigitalOceanClient:
        return DigitalOceanClient(self.http, self.credentials["api_key"])

    async def fetch_offers(self) -> FetchResult:
        return parse_sizes(await self.client.sizes())

    async def list_instances(self) -> list[Instance]:
        return parse_instances(await self.client.droplets(), self.STATUS_MAP)

    async def get_instance(self, instance_id: str) -> Instance:
        return parse_instance(await self.client.droplet(droplet_id(instance_id)), self.STATUS_MAP)

    async def create_instance(self, request: LaunchRequest) -> Instance:
        if request.spot:
            raise InvalidRequest("DigitalOcean has no spot Droplets", provider=self.NAME)
        client = self.client
        payload = create_payload(request, await ssh_key_fingerprints(client, request))
        # The 202 answer holds the new Droplet (status `new`): no second call that could fail
        # after the launch was accepted.
        instance = parse_instance(await client.create_droplet(payload), self.STATUS_MAP)
        if not instance.client_token and request.client_token:
            # The tag is applied just after creation; the answer may not list it yet.
            instance = replace(instance, client_token=request.client_token)
        return instance

    async def terminate_instance(self, instance_id: str) -> None:
        try:  # not `already_gone_is_success`: a malformed id is also "gone", before any call
            await self.client.delete_droplet(droplet_id(instance_id))
        except NotFound:
            return  # already gone: terminating is idempotent

    async def start_instance(self, instance_id: str) -> None:
        await self.client.droplet_action(droplet_id(instance_id), "power_on")

    async def stop_instance(self, instance_id: str) -> None:
        # `power_off` (a hard off) rather than `shutdown`: a guest that ignores the ACPI signal
        # would leave a graceful shutdown pending forever. Billing continues while off.
        await self.client.droplet_action(droplet_id(instance_id), "power_off")

    async def reboot_instance(self, instance_id: str) -> None:
        await self.client.droplet_action(droplet_id(instance_id), "reboot")

    async def verify_credentials(self) -> None:
        await self.client.account()  # GET /v2/account: the cheapest authenticated call
