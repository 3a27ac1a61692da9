"""CUDO Compute: offers and the VM lifecycle (start, stop, reboot, terminate)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

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
from providers.cudo.client import CudoClient
from providers.cudo.instances import parse_instance, parse_instances
from providers.cudo.launch import create_payload, machine_shape
from providers.cudo.offers import PRICING_URL, parse_machine_types
from providers.errors import InvalidCredentials, InvalidRequest, NotFound

_PROJECT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class CudoSource(SupportsStart, SupportsStop, SupportsReboot, Provider):
    NAME = "cudo"
    DISPLAY_NAME = "CUDO Compute"
    HOMEPAGE = "https://www.cudocompute.com"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = False  # /vms/machine-types answers without a key; one is sent when set
    CREDENTIAL_FIELDS = ("project_id", "api_key")  # VMs live in a project; the key is the secret
    PRICE_BASIS = PriceBasis.SMALLEST_VM
    PRICE_INCLUDES = ('CUDO bills GPU, vCPU, RAM, disk and IPv4 separately: the price is the cheapest valid 1-GPU shape (fewest vCPUs, least RAM) with a 100 GB boot disk and one IPv4 address.')
    KIND = "provider"
    SSH_USER = "root"  # CUDO's public images log in as root (as public CUDO clients connect)

    # `state` as in the API's VmState enum.
    STATUS_MAP: Mapping[str, InstanceStatus] = {
        "PENDING": InstanceStatus.PROVISIONING,
        "CLONING": InstanceStatus.PROVISIONING,
        "RECREATING": InstanceStatus.PROVISIONING,
        "STARTING": InstanceStatus.PROVISIONING,
        "ACTIVE": InstanceStatus.RUNNING,
        # Busy with an operation on a live VM: still up and billed.
        "MIGRATING": InstanceStatus.RUNNING,
        "HOTPLUGGING": InstanceStatus.RUNNING,
        "CREATING_SNAPSHOT": InstanceStatus.RUNNING,
        "DELETING_SNAPSHOT": InstanceStatus.RUNNING,
        "REVERTING_SNAPSHOT": InstanceStatus.RUNNING,
        "RESIZING": InstanceStatus.RUNNING,
        "RESIZING_DISK": InstanceStatus.RUNNING,
        "STOPPING": InstanceStatus.STOPPING,
        "STOPPED": InstanceStatus.STOPPED,
        "SUSPENDING": InstanceStatus.STOPPING,
        "SUSPENDED": InstanceStatus.STOPPED,
        "DELETING": InstanceStatus.TERMINATING,
        "DELETED": InstanceStatus.TERMINATED,
        "FAILED": InstanceStatus.FAILED,
        "UNKNOWN": InstanceStatus.UNKNOWN,
    }

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.cudo}

    @classmethod
    def test_credentials(cls) -> dict[str, str]:
        return {"project_id": "test-project", "api_key": "test-key-not-real"}

    @property
    def client(self) -> CudoClient:
        return CudoClient(self.http, self.credentials.get("api_key", ""))

    @property
    def project_id(self) -> str:
        project = self.credentials.get("project_id", "")
        if not _PROJECT_ID.match(project):
            raise InvalidCredentials("that is not a CUDO project id (lower-case letters, digits, hyphens)",
                                     provider=self.NAME)
        return project

    async def fetch_offers(self) -> FetchResult:
        return parse_machine_types(await self.client.machine_types())

    async def list_instances(self) -> list[Instance]:
        return parse_instances(await self.client.vms(self.project_id), self.STATUS_MAP)

    async def get_instance(self, instance_id: str) -> Instance:
        return parse_instance(await self.client.vm(self.project_id, instance_id), self.STATUS_MAP)

    async def create_instance(self, request: LaunchRequest) -> Instance:
        if request.spot:
            raise InvalidRequest("CUDO has no spot VMs", provider=self.NAME)
        client, project = self.client, self.project_id
        vcpus, memory_gib = await machine_shape(client, request)
        payload = create_payload(request, vcpus, memory_gib)
        body = await client.create_vm(project, payload)
        vm = body.get("vm") if isinstance(body.get("vm"), dict) else {}
        # The create answer is `{"id", "vm"}`; what it leaves out is what we asked for.
        instance = parse_instance({
            "id": body.get("id") or payload["vmId"], "state": "PENDING", "datacenterId": request.region,
            "machineType": payload["machineType"], "gpuModelId": payload["gpuModelId"], "gpuQuantity": 1,
            **vm,
        }, self.STATUS_MAP)
        return instance if instance.client_token else replace(instance, client_token=request.client_token)

    async def terminate_instance(self, instance_id: str) -> None:
        try:
            await self.client.vm_action(self.project_id, instance_id, "terminate")
        except NotFound:
            return  # already gone: terminating is idempotent

    async def start_instance(self, instance_id: str) -> None:
        await self.client.vm_action(self.project_id, instance_id, "start")

    async def stop_instance(self, instance_id: str) -> None:
        await self.client.vm_action(self.project_id, instance_id, "stop")

    async def reboot_instance(self, instance_id: str) -> None:
        await self.client.vm_action(self.project_id, instance_id, "reboot")

    async def verify_credentials(self) -> None:
        # The project itself: a wrong key (UNAUTHENTICATED) and a wrong project (NOT_FOUND or
        # PERMISSION_DENIED) are both refused before anything is launched with them.
        try:
            await self.client.project(self.project_id)
        except NotFound as exc:
            raise InvalidCredentials(f"no such CUDO project for this key: {exc.message}", provider=self.NAME,
                                     status_code=exc.status_code) from exc
