"""Sandbox: a simulated GPU cloud for the demo, trials and tests.

It behaves like a real provider through the same code path: the adapter below speaks HTTP
(``client.py``, ``request_json``, typed errors) to a REST API (``server.py``) whose state lives
in a ``SandboxCloud`` in this process. Boots take time, faults can be injected per account.
Its instances have no real network: their health checks are answered by the simulation
(``check_health``, the ``health_failing`` fault), so auto-repair never opens a socket for them.

Construction:
- ``SandboxProvider(http, credentials)``: what the poller and the console do via the registry.
  ``http`` reaches the internet, so it is not used: the adapter talks to ``get_cloud()``.
- ``SandboxProvider.on_cloud(cloud, api_key)``: a test's (or demo's) own cloud.
- ``SandboxProvider.over_http(http, credentials)``: plain HTTP to ``BASE_URL``, for recorded
  responses (respx) or a sandbox served on a real port.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from providers.base import (
    already_gone_is_success,
    FetchResult,
    HealthAnswer,
    Instance,
    InstanceStatus,
    LaunchRequest,
    PriceBasis,
    Provider,
    SupportsHealthCheck,
    SupportsReboot,
    SupportsStart,
    SupportsStop,
)
from providers.sandbox import cloud as raw
from providers.sandbox.client import SandboxClient
from providers.sandbox.cloud import Faults, SandboxCloud, Timings, generate_api_key, get_cloud
from providers.sandbox.parse import PRICING_URL, parse_health, parse_instance, parse_instances, parse_offers
from providers.sandbox.server import BASE_URL, in_process_client

__all__ = ["Faults", "SandboxCloud", "SandboxProvider", "Timings", "generate_api_key", "get_cloud"]


class SandboxProvider(SupportsStart, SupportsStop, SupportsReboot, SupportsHealthCheck, Provider):
    NAME = "sandbox"
    DISPLAY_NAME = "Sandbox (simulated)"
    HOMEPAGE = "https://sandbox.computehub.invalid"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = False  # offers are public in the simulation; instances need the user's key
    PRICE_BASIS = PriceBasis.INSTANCE
    PRICE_INCLUDES = ('A simulated instance shape at one price (nothing is sold).')
    KIND = "provider"
    POLL_INTERVAL_SECONDS = 3600  # its prices never change

    LISTS_LAUNCH_TOKENS = True  # every listed instance carries its launch token (tags.client_token)

    STATUS_MAP: Mapping[str, InstanceStatus] = {
        raw.PROVISIONING: InstanceStatus.PROVISIONING,
        raw.RUNNING: InstanceStatus.RUNNING,
        # Not usable yet, running again soon: closest to a boot.
        raw.REBOOTING: InstanceStatus.PROVISIONING,
        raw.STOPPING: InstanceStatus.STOPPING,
        raw.STOPPED: InstanceStatus.STOPPED,
        raw.TERMINATING: InstanceStatus.TERMINATING,
        raw.TERMINATED: InstanceStatus.TERMINATED,
        raw.ERROR: InstanceStatus.FAILED,
        raw.CRASHED: InstanceStatus.FAILED,
        # Taken back by the cloud (spot): gone like a terminated one, with ``preempted`` set.
        raw.PREEMPTED: InstanceStatus.TERMINATED,
    }

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: Mapping[str, str] | None = None,
        *,
        api: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(http, credentials)
        if api is None:
            # Keep the caller's timeout (the poller's setting), drop its network transport.
            api = in_process_client(get_cloud(), timeout=http.timeout)
        self.client = SandboxClient(api, self.credentials.get("api_key", ""), BASE_URL)

    @classmethod
    def on_cloud(cls, cloud: SandboxCloud, api_key: str = "", *, timeout: float | None = None) -> SandboxProvider:
        api = in_process_client(cloud, **({} if timeout is None else {"timeout": timeout}))
        return cls(api, {"api_key": api_key}, api=api)

    @classmethod
    def over_http(cls, http: httpx.AsyncClient, credentials: Mapping[str, str] | None = None) -> SandboxProvider:
        return cls(http, credentials, api=http)

    @classmethod
    def test_credentials(cls) -> dict[str, str]:
        return {"api_key": "sbx_test-key-not-real-0000"}

    async def fetch_offers(self) -> FetchResult:
        return parse_offers(await self.client.offers())

    async def list_instances(self) -> list[Instance]:
        return parse_instances(await self.client.list_instances(), self.STATUS_MAP)

    async def get_instance(self, instance_id: str) -> Instance:
        return parse_instance(await self.client.get_instance(instance_id), self.STATUS_MAP)

    async def create_instance(self, request: LaunchRequest) -> Instance:
        body = {
            "name": request.name,
            "instance_type": request.instance_type,
            "region": request.region,
            "spot": request.spot,
            "client_token": request.client_token,
        }
        if request.image:
            body["image"] = request.image
        if request.disk_gb is not None:
            body["disk_gb"] = request.disk_gb
        if request.ssh_public_key:
            body["ssh_public_key"] = request.ssh_public_key
        return parse_instance(await self.client.create_instance(body), self.STATUS_MAP)

    async def terminate_instance(self, instance_id: str) -> None:
        await already_gone_is_success(self.client.delete_instance(instance_id))

    async def start_instance(self, instance_id: str) -> None:
        await self.client.action(instance_id, "start")

    async def stop_instance(self, instance_id: str) -> None:
        await self.client.action(instance_id, "stop")

    async def reboot_instance(self, instance_id: str) -> None:
        await self.client.action(instance_id, "reboot")

    async def check_health(self, instance_id: str, endpoint_url: str) -> HealthAnswer:
        answer = parse_health(await self.client.health(instance_id))
        return HealthAnswer(answer.ok, f"{answer.detail} (simulated by the sandbox, no connection made)")
