"""Vast.ai marketplace: offers (no key needed today) and the instance lifecycle (the user's key)."""

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
    SupportsStart,
    SupportsStop,
)
from providers.errors import BadResponse, NoCapacity, NotFound, ProviderError
from providers.vastai.client import UnstartedInstance, VastClient
from providers.vastai.instances import parse_instance, parse_instances, vast_id
from providers.vastai.launch import ask_body, ensure_ssh_key, offer_id, spot_bid
from providers.vastai.offers import PRICING_URL, parse_offers


class VastSource(SupportsStart, SupportsStop, SupportsReboot, Provider):
    NAME = "vastai"
    DISPLAY_NAME = "Vast.ai"
    HOMEPAGE = "https://vast.ai"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = False  # offer search answers without a key today; instances need the user's key
    PRICE_BASIS = PriceBasis.INSTANCE
    PRICE_INCLUDES = ("The whole host offer per hour (dph_total): the machine's GPUs, CPU and RAM share plus the default disk; bandwidth is billed per GB apart.")
    KIND = "provider"

    LISTS_LAUNCH_TOKENS = True  # every listed instance carries its launch token (the label suffix)

    # `actual_status` as the CLI reference documents it ("" = null), plus the start/stop
    # transitions read with `intended_status` (see instances.raw_status).
    STATUS_MAP: Mapping[str, InstanceStatus] = {
        "": InstanceStatus.PROVISIONING,
        "created": InstanceStatus.PROVISIONING,  # container created, not started (dstack reads it)
        "loading": InstanceStatus.PROVISIONING,  # pulling the image, container starting
        "running": InstanceStatus.RUNNING,
        "rebooting": InstanceStatus.PROVISIONING,  # transient docker stop/start
        "frozen": InstanceStatus.RUNNING,  # paused with memory kept: "GPU charges apply"
        "stopped": InstanceStatus.STOPPED,  # disk billed, no GPU charges
        # The container exited on its own: it can be started again or deleted, like a stop.
        "exited": InstanceStatus.STOPPED,
        # No heartbeat / host disconnected: we cannot tell, and it may come back.
        "unknown": InstanceStatus.UNKNOWN,
        "offline": InstanceStatus.UNKNOWN,
        "running (intended stopped)": InstanceStatus.STOPPING,
        "loading (intended stopped)": InstanceStatus.STOPPING,
        "stopped (intended running)": InstanceStatus.PROVISIONING,  # waiting for the host's GPUs
    }

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.vastai}

    @property
    def client(self) -> VastClient:
        return VastClient(self.http, self.credentials.get("api_key", ""))

    async def fetch_offers(self) -> FetchResult:
        return parse_offers(await self.client.search_offers())

    async def list_instances(self) -> list[Instance]:
        return parse_instances(await self.client.instances(), self.STATUS_MAP)

    async def get_instance(self, instance_id: str) -> Instance:
        return parse_instance(await self.client.instance(vast_id(instance_id)), self.STATUS_MAP)

    async def create_instance(self, request: LaunchRequest) -> Instance:
        client = self.client
        offer = offer_id(request.instance_type)
        await ensure_ssh_key(client, request.ssh_public_key)
        bid = await spot_bid(client, offer) if request.spot else None
        body = ask_body(request, bid)
        try:
            new_id = await client.create_instance(offer, body)
        except UnstartedInstance as exc:
            await self._destroy_unstarted(client, exc)
            raise NoCapacity(
                f"Vast created instance {exc.instance_id} but could not start it ({exc.message}); "
                "it was destroyed", provider=self.NAME, status_code=exc.status_code,
            ) from exc
        # Built from what we sent, not fetched: a second call could fail (Vast rate-limits per
        # endpoint) after the launch succeeded, and the launch would be recorded as failed.
        return Instance(
            provider=self.NAME,
            instance_id=str(new_id),
            name=request.name,
            status=self.STATUS_MAP[""],
            raw_status="",
            instance_type=request.instance_type,
            region=request.region,
            client_token=request.client_token,
        )

    async def _destroy_unstarted(self, client: VastClient, exc: UnstartedInstance) -> None:
        try:
            await _destroy(client, exc.instance_id)
        except ProviderError as failure:
            # Not a definite failure: the instance exists. Its label carries our client token,
            # so the reconciler adopts it and the user can delete it from the console.
            raise BadResponse(
                f"Vast created instance {exc.instance_id} stopped and it could not be destroyed "
                f"({failure.message})", provider=self.NAME,
            ) from failure

    async def terminate_instance(self, instance_id: str) -> None:
        try:
            numeric = vast_id(instance_id)
        except NotFound:
            return  # not a Vast id: nothing of ours to terminate
        await _destroy(self.client, numeric)

    async def start_instance(self, instance_id: str) -> None:
        await self.client.set_state(vast_id(instance_id), "running")

    async def stop_instance(self, instance_id: str) -> None:
        await self.client.set_state(vast_id(instance_id), "stopped")

    async def reboot_instance(self, instance_id: str) -> None:
        await self.client.reboot(vast_id(instance_id))

    async def verify_credentials(self) -> None:
        await self.client.first_instance()  # one instance at most; 401 -> InvalidCredentials


async def _destroy(client: VastClient, instance_id: int) -> None:
    try:
        await client.destroy(instance_id)
    except NotFound:
        return  # already gone (`no_such_instance` / `not_found`): terminating is idempotent
