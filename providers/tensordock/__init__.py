"""TensorDock (v2 API): offers and the instance lifecycle (start, stop, delete; no reboot)."""

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
from providers.errors import InvalidRequest, NotFound
from providers.tensordock.client import TensorDockClient
from providers.tensordock.instances import parse_instance, parse_instances
from providers.tensordock.launch import create_payload, location_id
from providers.tensordock.offers import PRICING_URL, parse_locations


class TensorDockSource(SupportsStart, SupportsStop, Provider):
    NAME = "tensordock"
    DISPLAY_NAME = "TensorDock"
    HOMEPAGE = "https://tensordock.com"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = True  # every v2 endpoint, /locations included, needs a Bearer token
    PRICE_BASIS = PriceBasis.SMALLEST_VM
    PRICE_INCLUDES = ('TensorDock bills GPU, vCPU, RAM and storage separately: the price is the smallest deployable VM, 1 GPU with 2 vCPUs, 4 GB RAM and the 100 GB minimum disk.')
    KIND = "provider"
    SSH_USER = "user"  # TensorDock's Ubuntu images log in as `user`

    # `status` as documented for v2 instances.
    STATUS_MAP: Mapping[str, InstanceStatus] = {
        "starting": InstanceStatus.PROVISIONING,
        "running": InstanceStatus.RUNNING,
        "stopping": InstanceStatus.STOPPING,
        "stopped": InstanceStatus.STOPPED,
        "deleting": InstanceStatus.TERMINATING,
        "deleted": InstanceStatus.TERMINATED,
        "error": InstanceStatus.FAILED,
    }
    UNSUPPORTED_REASONS: Mapping[str, str] = {
        "reboot": "TensorDock's API has no reboot; stop the instance and start it again",
    }

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.tensordock}

    @property
    def client(self) -> TensorDockClient:
        return TensorDockClient(self.http, self.credentials["api_key"])

    async def fetch_offers(self) -> FetchResult:
        return parse_locations(await self.client.locations())

    async def list_instances(self) -> list[Instance]:
        return parse_instances(await self.client.instances(), self.STATUS_MAP)

    async def get_instance(self, instance_id: str) -> Instance:
        return parse_instance(await self.client.instance(instance_id), self.STATUS_MAP)

    async def create_instance(self, request: LaunchRequest) -> Instance:
        if request.spot:
            raise InvalidRequest("TensorDock's v2 API has no spot instances", provider=self.NAME)
        client = self.client
        payload = create_payload(request, await location_id(client, request))
        created = parse_instance(await client.create_instance(payload), self.STATUS_MAP)
        # The create answer holds only id, name and status: the rest is what we asked for.
        return replace(
            created, instance_type=created.instance_type or request.instance_type,
            region=created.region or payload["data"]["attributes"]["location_id"],
            gpu_count=created.gpu_count or Decimal(1), client_token=created.client_token or request.client_token,
        )

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
