"""FluidStack (legacy platform API): offers and the instance lifecycle (start, stop, delete)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from providers.base import (
    FetchResult,
    Instance,
    InstanceStatus,
    LaunchRequest,
    PriceBasis,
    Provider,
    SupportsStart,
    SupportsStop,
)
from providers.errors import BadResponse, InvalidRequest, NotFound
from providers.fluidstack.client import FluidStackClient
from providers.fluidstack.instances import parse_instance, parse_instances, split_name
from providers.fluidstack.launch import create_payload, gpu_type_and_count, ssh_key_name
from providers.fluidstack.offers import NAME, PRICING_URL, parse_configurations


class FluidStackSource(SupportsStart, SupportsStop, Provider):
    NAME = NAME
    DISPLAY_NAME = "FluidStack"
    HOMEPAGE = "https://www.fluidstack.io"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = True  # the legacy configurations list needs an api-key
    PRICE_BASIS = PriceBasis.INSTANCE
    PRICE_INCLUDES = ('The listed configuration per hour (per-GPU rate x GPUs) with the vCPUs and RAM it states.')
    KIND = "provider"
    SSH_USER = "ubuntu"  # its Ubuntu images log in as `ubuntu`

    STATUS_MAP: Mapping[str, InstanceStatus] = {
        "pending": InstanceStatus.PROVISIONING,
        "provisioning": InstanceStatus.PROVISIONING,
        "starting": InstanceStatus.PROVISIONING,
        "running": InstanceStatus.RUNNING,
        "stopping": InstanceStatus.STOPPING,
        "stopped": InstanceStatus.STOPPED,
        "terminating": InstanceStatus.TERMINATING,
        "terminated": InstanceStatus.TERMINATED,
        "failed": InstanceStatus.FAILED,
        "error": InstanceStatus.FAILED,
    }
    UNSUPPORTED_REASONS: Mapping[str, str] = {
        "reboot": "FluidStack's API has no reboot; stop the instance and start it again",
    }

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.fluidstack}

    @property
    def client(self) -> FluidStackClient:
        return FluidStackClient(self.http, self.credentials["api_key"])

    async def fetch_offers(self) -> FetchResult:
        return parse_configurations(await self.client.configurations())

    async def list_instances(self) -> list[Instance]:
        return parse_instances(await self.client.instances(), self.STATUS_MAP)

    async def get_instance(self, instance_id: str) -> Instance:
        return parse_instance(await self.client.instance(instance_id), self.STATUS_MAP)

    async def create_instance(self, request: LaunchRequest) -> Instance:
        if request.spot:
            raise InvalidRequest("FluidStack's platform API has no spot instances", provider=self.NAME)
        gpu_type, gpu_count = gpu_type_and_count(request.instance_type)  # refuse a bad type before any call
        client = self.client
        payload = create_payload(request, await ssh_key_name(client, request))
        created = await client.create_instance(payload)
        ident = created.get("id")
        if not isinstance(ident, str) or not ident:
            raise BadResponse("create did not return an instance id", provider=self.NAME)
        # The answer may hold only the id: the rest is what we asked for.
        instance = parse_instance({"status": "pending", "gpu_type": gpu_type, "gpu_count": gpu_count,
                                   "region": request.region, "name": payload["name"], **created}, self.STATUS_MAP)
        return replace(instance, name=split_name(payload["name"])[0], gpu_count=instance.gpu_count or Decimal(gpu_count),
                       client_token=instance.client_token or request.client_token)

    async def terminate_instance(self, instance_id: str) -> None:
        try:
            await self.client.delete_instance(instance_id)
        except NotFound:
            return  # already gone: terminating is idempotent

    async def start_instance(self, instance_id: str) -> None:
        await self.client.instance_action(instance_id, "start")

    async def stop_instance(self, instance_id: str) -> None:
        await self.client.instance_action(instance_id, "stop")

    async def verify_credentials(self) -> None:
        await self.client.instances()  # 401 -> InvalidCredentials
