"""RunPod: offers (GraphQL, no key) and the pod lifecycle (REST v2, the user's key)."""

from __future__ import annotations

from collections.abc import Mapping

from providers.base import (
    already_gone_is_success,
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
from providers.runpod.client import RunPodClient, RunPodRestClient
from providers.runpod.launch import pod_body
from providers.runpod.offers import PRICING_URL, parse_gpu_types
from providers.runpod.pods import parse_pod, parse_pods


class RunPodSource(SupportsStart, SupportsStop, SupportsReboot, Provider):
    NAME = "runpod"
    DISPLAY_NAME = "RunPod"
    HOMEPAGE = "https://www.runpod.io"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = False  # the GraphQL `gpuTypes` prices are public; pods need the user's key
    PRICE_BASIS = PriceBasis.GPU_ONLY
    PRICE_INCLUDES = ("RunPod's per-GPU rate from its GPU types list: the pod's vCPU and RAM are not stated with it, and container and volume disk are billed apart.")
    KIND = "provider"

    LISTS_LAUNCH_TOKENS = True  # every listed instance carries its launch token (pod env)

    # v2 `PodStatus`, as documented in the spec.
    STATUS_MAP: Mapping[str, InstanceStatus] = {
        "PROVISIONING": InstanceStatus.PROVISIONING,
        "STARTING": InstanceStatus.PROVISIONING,  # container starting: billed, not usable yet
        "RUNNING": InstanceStatus.RUNNING,
        "EXITED": InstanceStatus.STOPPED,  # "container exited (stopped)"; disk kept, compute released
        "ERROR": InstanceStatus.FAILED,  # "unrecoverable error state"; delete stays possible
        "TERMINATED": InstanceStatus.TERMINATED,
    }

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.runpod}

    @property
    def rest(self) -> RunPodRestClient:
        """REST v2, for pods (the GraphQL client below is for prices only)."""
        return RunPodRestClient(self.http, self.credentials.get("api_key", ""))

    async def fetch_offers(self) -> FetchResult:
        client = RunPodClient(self.http, self.credentials.get("api_key", ""))
        return parse_gpu_types(await client.gpu_types())

    async def list_instances(self) -> list[Instance]:
        return parse_pods(await self.rest.pods(), self.STATUS_MAP)

    async def get_instance(self, instance_id: str) -> Instance:
        return parse_pod(await self.rest.pod(instance_id), self.STATUS_MAP)

    async def create_instance(self, request: LaunchRequest) -> Instance:
        body = pod_body(request)
        # 201 answers with the whole pod (PROVISIONING): nothing more to fetch.
        return parse_pod(await self.rest.create_pod(body), self.STATUS_MAP)

    async def terminate_instance(self, instance_id: str) -> None:
        await already_gone_is_success(self.rest.delete_pod(instance_id))

    async def start_instance(self, instance_id: str) -> None:
        await self.rest.pod_action(instance_id, "start")

    async def stop_instance(self, instance_id: str) -> None:
        await self.rest.pod_action(instance_id, "stop")

    async def reboot_instance(self, instance_id: str) -> None:
        await self.rest.pod_action(instance_id, "restart")

    async def verify_credentials(self) -> None:
        await self.rest.pods()  # one unpaged list; 401 -> InvalidCredentials
