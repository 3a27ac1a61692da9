"""Shadeform (GPU marketplace): offers of the clouds it resells, and the instance lifecycle on the
underlying cloud an offer names (create, list, info, restart, delete; no start or stop)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.adapter import RestProvider, as_launched
from providers.base import FetchResult, Instance, InstanceStatus, LaunchRequest, PriceBasis, SupportsReboot
from providers.errors import BadResponse, InvalidRequest
from providers.shadeform.client import ShadeformClient
from providers.shadeform.instances import parse_instance
from providers.shadeform.launch import cloud_and_type, create_payload, listed_type, ssh_key_id
from providers.shadeform.offers import NAME, PRICING_URL, parse_instance_types


class ShadeformSource(SupportsReboot, RestProvider):
    NAME = NAME
    DISPLAY_NAME = "Shadeform (marketplace)"
    HOMEPAGE = "https://www.shadeform.ai"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = True
    PRICE_BASIS = PriceBasis.INSTANCE
    PRICE_INCLUDES = ('The instance type per hour as the underlying cloud sells it: its GPUs, vCPUs, RAM and storage.')
    POLL_INTERVAL_SECONDS = 900  # marketplace prices and stock move through the day
    SSH_USER = "shadeform"  # the documented default `ssh_user` of Shadeform's images
    LISTS_LAUNCH_TOKENS = True  # every listed instance carries its tags, our token among them

    # `Status` enum of the OpenAPI: creating, pending_provider, pending, active, error, deleting, deleted.
    STATUS_MAP: Mapping[str, InstanceStatus] = {
        "creating": InstanceStatus.PROVISIONING,  # accepted by Shadeform, not yet sent to the cloud
        "pending_provider": InstanceStatus.PROVISIONING,  # the underlying cloud is creating it
        "pending": InstanceStatus.PROVISIONING,  # created, booting
        "active": InstanceStatus.RUNNING,  # stays `active` through a restart
        "error": InstanceStatus.FAILED,
        "deleting": InstanceStatus.TERMINATING,  # no longer billed from here on
        "deleted": InstanceStatus.TERMINATED,
    }
    UNSUPPORTED_REASONS: Mapping[str, str] = {
        "start": "Shadeform's API has no start: its instances run until deleted",
        "stop": "Shadeform's API has no stop; delete the instance instead",
    }

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.get("shadeform")}

    def make_client(self) -> ShadeformClient:
        return ShadeformClient(self.http, self.credentials["api_key"])

    def parse_instance(self, body: Any) -> Instance:
        return parse_instance(body, self.STATUS_MAP)

    async def fetch_offers(self) -> FetchResult:
        return parse_instance_types(await self.client.instance_types())

    async def create_instance(self, request: LaunchRequest) -> Instance:
        if request.spot:
            raise InvalidRequest("ComputeHub launches Shadeform's on-demand instances only", provider=self.NAME)
        cloud, cloud_type = cloud_and_type(request.instance_type)  # refuse a bad type before any call
        client = self.client
        listed = await listed_type(client, cloud, cloud_type)
        payload = create_payload(request, cloud, listed["shade_instance_type"], await ssh_key_id(client, request))
        created = await client.create_instance(payload)
        ident = created.get("id")
        if not isinstance(ident, str) or not ident:
            raise BadResponse("create did not return an instance id", provider=self.NAME)
        # The answer is only the id (documented status then: `creating`); the rest is what we
        # asked for and the type's listing (configuration, price).
        body = {"status": "creating", "cloud": cloud, "cloud_instance_type": cloud_type,
                "region": request.region, "name": request.name, "tags": payload.get("tags", []),
                "configuration": listed.get("configuration"), "hourly_price": listed.get("hourly_price"), "id": ident}
        return as_launched(self.parse_instance(body), request)

    async def reboot_instance(self, instance_id: str) -> None:
        await self.client.restart_instance(instance_id)
