"""Verda (formerly DataCrunch): offers and the instance lifecycle (no reboot in Verda's API)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from providers.base import (
    already_gone_is_success,
    FetchResult,
    Instance,
    InstanceStatus,
    LaunchRequest,
    PriceBasis,
    Provider,
    SupportsStart,
    SupportsStop,
)
from providers.verda.client import VerdaClient
from providers.verda.instances import parse_instance, parse_instances
from providers.verda.launch import launch_body, require_location, ssh_key_ids
from providers.verda.offers import PRICING_URL, parse_instance_types


class VerdaSource(SupportsStart, SupportsStop, Provider):
    NAME = "verda"
    DISPLAY_NAME = "Verda"
    HOMEPAGE = "https://verda.com"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = True  # every endpoint, price list included, needs an OAuth2 token
    PRICE_BASIS = PriceBasis.INSTANCE
    PRICE_INCLUDES = ('The instance type per hour: its GPUs, vCPUs and RAM; block storage is billed apart.')
    CREDENTIAL_FIELDS = ("client_id", "client_secret")  # an OAuth2 client, not one API key
    KIND = "provider"

    LISTS_LAUNCH_TOKENS = True  # every listed instance carries its launch token (the description suffix)

    # The SDK's InstanceStatus constants, plus two values it documents for clusters and volumes.
    STATUS_MAP: Mapping[str, InstanceStatus] = {
        "ordered": InstanceStatus.PROVISIONING,  # accepted, not yet provisioning
        "provisioning": InstanceStatus.PROVISIONING,
        "running": InstanceStatus.RUNNING,
        "offline": InstanceStatus.STOPPED,  # shut down
        # Hibernation frees the GPU and keeps the disk: the console treats it as a stop.
        "starting_hibernation": InstanceStatus.STOPPING,
        "hibernating": InstanceStatus.STOPPED,
        "restoring": InstanceStatus.PROVISIONING,
        "error": InstanceStatus.FAILED,
        # Unconfirmed for instances (cluster and volume statuses in the SDK); a deleted instance
        # fetched by id must not read as "unknown" forever.
        "discontinued": InstanceStatus.TERMINATED,  # e.g. a spot instance reclaimed
        "deleting": InstanceStatus.TERMINATING,
        "deleted": InstanceStatus.TERMINATED,
    }
    UNSUPPORTED_REASONS: Mapping[str, str] = {
        "reboot": "Verda's API has no reboot; stop the instance and start it again",
    }

    def __init__(self, http: httpx.AsyncClient, credentials: Mapping[str, str] | None = None) -> None:
        super().__init__(http, credentials)
        # One client per source: all of its calls share one OAuth2 token.
        self.client = VerdaClient(
            http, self.credentials.get("client_id", ""), self.credentials.get("client_secret", "")
        )

    @classmethod
    def credentials_from_settings(cls, settings):
        keys = settings.provider_keys
        return {"client_id": keys.verda_client_id, "client_secret": keys.verda_client_secret}

    @classmethod
    def test_credentials(cls) -> dict[str, str]:
        return {"client_id": "test-client-id-not-real", "client_secret": "test-client-secret-not-real"}

    async def fetch_offers(self) -> FetchResult:
        instance_types = await self.client.instance_types()
        on_demand = await self.client.availability(spot=False)
        spot = await self.client.availability(spot=True)
        return parse_instance_types(instance_types, on_demand, spot)

    async def list_instances(self) -> list[Instance]:
        return parse_instances(await self.client.instances(), self.STATUS_MAP)

    async def get_instance(self, instance_id: str) -> Instance:
        return parse_instance(await self.client.instance(instance_id), self.STATUS_MAP)

    async def create_instance(self, request: LaunchRequest) -> Instance:
        require_location(request)
        body = launch_body(request, await ssh_key_ids(self.client, request))
        new_id = await self.client.create_instance(body)
        # Built from what we sent, not fetched: the answer is only the id, and a second call
        # could fail after the launch succeeded, recording a launch that did happen as failed.
        return Instance(
            provider=self.NAME,
            instance_id=new_id,
            name=body["hostname"],
            status=self.STATUS_MAP["ordered"],
            raw_status="ordered",
            instance_type=request.instance_type,
            region=request.region,
            client_token=request.client_token,
        )

    async def terminate_instance(self, instance_id: str) -> None:
        await already_gone_is_success(self.client.instance_action(instance_id, "delete"))

    async def start_instance(self, instance_id: str) -> None:
        await self.client.instance_action(instance_id, "start")

    async def stop_instance(self, instance_id: str) -> None:
        await self.client.instance_action(instance_id, "shutdown")

    async def verify_credentials(self) -> None:
        await self.client.balance()  # the token call checks the credentials; the balance is tiny
