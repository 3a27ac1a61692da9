"""Prime Intellect (GPU marketplace): offers of the clouds it resells, and pods on the cloud an offer
names (create, list, get, delete; the pods API has no start, stop or reboot)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.adapter import RestProvider, as_launched
from providers.base import FetchResult, Instance, InstanceStatus, LaunchRequest, PriceBasis
from providers.primeintellect.client import PrimeIntellectClient
from providers.primeintellect.instances import parse_instance
from providers.primeintellect.launch import create_payload, listed_item, ssh_key_id
from providers.primeintellect.offers import NAME, PRICING_URL, parse_offers


class PrimeIntellectSource(RestProvider):
    NAME = NAME
    DISPLAY_NAME = "Prime Intellect (marketplace)"
    HOMEPAGE = "https://www.primeintellect.ai"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = True  # needs a key with Availability -> Read (and Instances -> Read and Write to launch)
    PRICE_BASIS = PriceBasis.INSTANCE
    PRICE_INCLUDES = ('The whole box per hour as the reselling cloud configures it: its GPUs, vCPUs, RAM and disk.')
    POLL_INTERVAL_SECONDS = 900  # a live market: stock and prices move within minutes
    SSH_USER = "root"  # the documented sshConnection form is root@<ip> -p <port>

    # PodStatusEnum of the OpenAPI.
    STATUS_MAP: Mapping[str, InstanceStatus] = {
        "PROVISIONING": InstanceStatus.PROVISIONING,
        "PENDING": InstanceStatus.PROVISIONING,
        "ACTIVE": InstanceStatus.RUNNING,
        "STOPPED": InstanceStatus.STOPPED,
        "ERROR": InstanceStatus.FAILED,
        "DELETING": InstanceStatus.TERMINATING,
        "TERMINATED": InstanceStatus.TERMINATED,
        "UNKNOWN": InstanceStatus.UNKNOWN,  # Prime Intellect's own "unknown": not a guess of ours
    }
    UNSUPPORTED_REASONS: Mapping[str, str] = {
        "start": "Prime Intellect's API has no start: a pod runs until it is deleted",
        "stop": "Prime Intellect's API has no stop; delete the pod instead",
        "reboot": "Prime Intellect's API has no reboot",
    }

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.get("primeintellect")}

    def make_client(self) -> PrimeIntellectClient:
        return PrimeIntellectClient(self.http, self.credentials["api_key"])

    def parse_instance(self, body: Any) -> Instance:
        return parse_instance(body, self.STATUS_MAP)

    async def fetch_offers(self) -> FetchResult:
        return parse_offers(await self.client.availability())

    async def create_instance(self, request: LaunchRequest) -> Instance:
        client = self.client
        item = await listed_item(client, request)
        payload = create_payload(request, item, await ssh_key_id(client, request))
        # The answer is the pod (status PROVISIONING) with the name we sent, token included.
        return as_launched(self.parse_instance(await client.create_instance(payload)), request)
