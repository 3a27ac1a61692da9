"""Hot Aisle (AMD Instinct VMs): offers and the VM lifecycle (provision, start, stop, reboot, delete)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from providers.adapter import RestProvider, as_launched
from providers.base import (
    FetchResult,
    Instance,
    InstanceStatus,
    LaunchRequest,
    PriceBasis,
    SupportsReboot,
    SupportsStart,
    SupportsStop,
)
from providers.errors import InvalidCredentials, InvalidRequest, NotFound
from providers.hotaisle.client import HotAisleClient
from providers.hotaisle.instances import parse_instance
from providers.hotaisle.launch import ensure_ssh_key, label_with_token, provision_specs
from providers.hotaisle.offers import NAME, PRICING_URL, parse_available


class HotAisleSource(SupportsStart, SupportsStop, SupportsReboot, RestProvider):
    NAME = NAME
    DISPLAY_NAME = "Hot Aisle"
    HOMEPAGE = "https://hotaisle.xyz"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = True
    PRICE_BASIS = PriceBasis.INSTANCE
    PRICE_INCLUDES = ('The whole VM per hour: its GPUs, CPUs, RAM and disk.')
    CREDENTIAL_FIELDS = ("api_key", "team_handle")  # VMs and the available list are per team
    POLL_INTERVAL_SECONDS = 900  # what is rentable now changes as VMs are taken
    SSH_USER = "hotaisle"  # the login of Hot Aisle's VM images
    # The token is written by a second call after provision (the only settable field): a VM
    # whose launch died in between carries none, so a missing token proves nothing.
    LISTS_LAUNCH_TOKENS = False

    # `state` of GET .../state/ (libvirt domain states; documented: "running", "shut off", "paused").
    STATUS_MAP: Mapping[str, InstanceStatus] = {
        "running": InstanceStatus.RUNNING,
        "shut off": InstanceStatus.STOPPED,  # still assigned to the team (and billed)
        "paused": InstanceStatus.STOPPED,  # frozen in memory: not running, still assigned
        "in shutdown": InstanceStatus.STOPPING,
        "crashed": InstanceStatus.FAILED,
    }

    @classmethod
    def credentials_from_settings(cls, settings):
        keys = settings.provider_keys
        return {"api_key": keys.get("hotaisle"), "team_handle": keys.get("hotaisle_team")}

    @classmethod
    def test_credentials(cls) -> dict[str, str]:
        return {"api_key": "test-key-not-real", "team_handle": "test-team"}

    def make_client(self) -> HotAisleClient:
        return HotAisleClient(self.http, self.credentials["api_key"], self.credentials["team_handle"])

    def parse_instance(self, body: Any) -> Instance:
        return parse_instance(body, None, self.STATUS_MAP)

    async def fetch_offers(self) -> FetchResult:
        return parse_available(await self.client.available())

    async def _with_state(self, client: HotAisleClient, body: Any) -> Instance:
        vm = self.parse_instance(body).instance_id  # refuses a body without a name first
        state = await client.state(vm)
        return parse_instance(body, str(state.get("state") or ""), self.STATUS_MAP)

    async def list_instances(self) -> list[Instance]:
        client = self.client
        listed = []
        for body in await client.instances():  # one state call per VM: the list carries none
            try:
                listed.append(await self._with_state(client, body))
            except NotFound:
                continue  # deleted between the list and its state call
        return listed

    async def get_instance(self, instance_id: str) -> Instance:
        client = self.client
        return await self._with_state(client, await client.instance(instance_id))

    async def create_instance(self, request: LaunchRequest) -> Instance:
        if request.spot:
            raise InvalidRequest("Hot Aisle has no spot VMs", provider=self.NAME)
        client = self.client
        specs = await provision_specs(client, request.instance_type)
        await ensure_ssh_key(client, request)
        vm = self.parse_instance(await client.provision(specs))
        await label_with_token(client, vm.instance_id, request)
        return as_launched(replace(vm, name=request.name), request)

    async def start_instance(self, instance_id: str) -> None:
        await self.client.power(instance_id, "start")

    async def stop_instance(self, instance_id: str) -> None:
        # `stop` (forced) rather than `shutdown`: a guest that ignores the ACPI signal would leave
        # the stop pending; the console's stop must end in a stopped VM.
        await self.client.power(instance_id, "stop")

    async def reboot_instance(self, instance_id: str) -> None:
        await self.client.power(instance_id, "reboot")  # graceful (ACPI), the documented preferred restart

    async def verify_credentials(self) -> None:
        try:
            await self.client.instances()
        except NotFound as exc:  # the key works but sees no such team: this binding cannot launch
            raise InvalidCredentials("Hot Aisle knows no such team for this key", provider=self.NAME,
                                     status_code=exc.status_code) from exc
