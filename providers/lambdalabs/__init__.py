"""Lambda Cloud: offers and the instance lifecycle (no start/stop: Lambda can only terminate)."""

from __future__ import annotations

from collections.abc import Mapping

from providers.base import (
    FetchResult,
    Instance,
    InstanceStatus,
    LaunchRequest,
    PriceBasis,
    Provider,
    SupportsReboot,
    already_gone_is_success,
)
from providers.errors import BadResponse, InvalidRequest
from providers.lambdalabs.client import LambdaClient
from providers.lambdalabs.instances import parse_instance, parse_instances
from providers.lambdalabs.launch import launch_body, ssh_key_name
from providers.lambdalabs.offers import PRICING_URL, parse_instance_types


class LambdaSource(SupportsReboot, Provider):
    NAME = "lambdalabs"
    DISPLAY_NAME = "Lambda"
    HOMEPAGE = "https://lambda.ai"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = True  # every Lambda endpoint needs auth, instance-types included
    PRICE_BASIS = PriceBasis.INSTANCE
    PRICE_INCLUDES = ("The whole instance type per hour: its GPUs, vCPUs, RAM and local SSD (Lambda's instance-types list).")
    KIND = "provider"
    SSH_USER = "ubuntu"  # Lambda Stack images: `ssh ubuntu@<ip>` (the API reports only the ip)

    LISTS_LAUNCH_TOKENS = True  # every listed instance carries its launch token (a tag)

    STATUS_MAP: Mapping[str, InstanceStatus] = {
        "booting": InstanceStatus.PROVISIONING,
        "active": InstanceStatus.RUNNING,
        # Up but failing Lambda's health checks: still billed and may recover, so not FAILED
        # (final in the console: it would stop syncing and stop counting the cost).
        "unhealthy": InstanceStatus.RUNNING,
        "terminating": InstanceStatus.TERMINATING,
        "terminated": InstanceStatus.TERMINATED,
        "preempted": InstanceStatus.TERMINATED,  # gone for good; nothing to restart
    }
    UNSUPPORTED_REASONS: Mapping[str, str] = {
        "start": "Lambda instances cannot be stopped, only terminated; filesystems persist",
        "stop": "Lambda instances cannot be stopped, only terminated; filesystems persist",
    }

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.lambdalabs}

    @property
    def client(self) -> LambdaClient:
        return LambdaClient(self.http, self.credentials["api_key"])

    async def fetch_offers(self) -> FetchResult:
        return parse_instance_types(await self.client.instance_types())

    async def list_instances(self) -> list[Instance]:
        return parse_instances(await self.client.instances(), self.STATUS_MAP)

    async def get_instance(self, instance_id: str) -> Instance:
        return parse_instance(await self.client.instance(instance_id), self.STATUS_MAP)

    async def create_instance(self, request: LaunchRequest) -> Instance:
        if request.spot:
            raise InvalidRequest("Lambda has no spot instances", provider=self.NAME)
        client = self.client
        body = launch_body(request, await ssh_key_name(client, request))
        data = await client.launch(body)
        ids = data.get("instance_ids") if isinstance(data, dict) else None
        if not isinstance(ids, list) or len(ids) != 1 or not isinstance(ids[0], str):
            raise BadResponse("launch did not return exactly one instance id", provider=self.NAME)
        # Built from what we sent, not fetched: a second call could fail (1 request/s limit)
        # after the launch succeeded, and the caller would record a launch that did happen as failed.
        return Instance(
            provider=self.NAME,
            instance_id=ids[0],
            name=body["name"],
            status=self.STATUS_MAP["booting"],
            raw_status="booting",
            instance_type=request.instance_type,
            region=request.region,
            client_token=request.client_token,
        )

    async def terminate_instance(self, instance_id: str) -> None:
        await already_gone_is_success(self.client.terminate([instance_id]))

    async def reboot_instance(self, instance_id: str) -> None:
        await self.client.restart([instance_id])

    async def verify_credentials(self) -> None:
        await self.client.instances()  # cheap: one unpaged list; 401 -> InvalidCredentials
