"""Tiny stateful stand-ins for DigitalOcean, CUDO, TensorDock, FluidStack, Shadeform, Hot Aisle and
Prime Intellect over respx, for console tests.

Each answers create by remembering what was sent and answers list with it, in the provider's
documented shapes (taken from the recorded ``lifecycle.json`` bodies), so a test can follow a
launch through the console service and the reconciler without network. What the adapter sent is
what the list returns: a client token the adapter failed to store is not read back.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import respx

from tests.support.lifecycle import load_lifecycle

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHc0bXB1dGVodWItdGVzdC1rZXktbm90LXJlYWwtMDAx dev@laptop"


def _route_json(provider: str, scenario: str, index: int) -> Any:
    return copy.deepcopy(load_lifecycle(provider).scenarios[scenario].spec["routes"][index]["json"])


@dataclass
class FakeCloud:
    provider: str
    credentials: dict[str, str]
    instance_type: str
    region: str
    created: list[dict] = field(default_factory=list)
    sent: list[dict] = field(default_factory=list)

    def mount(self, router: respx.Router) -> None:
        raise NotImplementedError


class FakeDigitalOcean(FakeCloud):
    BASE = "https://api.digitalocean.com/v2"

    def __init__(self) -> None:
        super().__init__("digitalocean", {"api_key": "dop_v1_fake_cloud_key"}, "gpu-h100x1-80gb", "tor1")

    def _create(self, request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)
        self.sent.append(sent)
        droplet = _route_json("digitalocean", "create", 1)["droplet"]
        droplet.update(id=4200000 + len(self.created), name=sent["name"], tags=sent.get("tags", []))
        self.created.append(droplet)
        return httpx.Response(202, json={"droplet": droplet, "links": {}})

    def mount(self, router: respx.Router) -> None:
        router.get(url__regex=rf"{self.BASE}/account/keys/.+").mock(
            return_value=httpx.Response(200, json=_route_json("digitalocean", "create", 0)))
        router.post(f"{self.BASE}/droplets").mock(side_effect=self._create)
        router.get(f"{self.BASE}/droplets").mock(side_effect=lambda request: httpx.Response(200, json={
            "droplets": self.created, "links": {}, "meta": {"total": len(self.created)}}))
        router.get(f"{self.BASE}/account").mock(
            return_value=httpx.Response(200, json=_route_json("digitalocean", "good_key", 0)))


class FakeCudo(FakeCloud):
    BASE = "https://rest.compute.cudo.org/v1"

    def __init__(self) -> None:
        super().__init__("cudo", {"project_id": "ml-team", "api_key": "cudo-fake-cloud-key"},
                         "epyc-genoa-h100-sxm/nvidia-h100-sxm", "se-smedjebacken-1")

    def _create(self, request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)
        self.sent.append(sent)
        vm = _route_json("cudo", "create", 1)["vm"]
        vm.update(id=sent["vmId"], metadata=sent.get("metadata", {}))
        self.created.append(vm)
        return httpx.Response(200, json={"id": vm["id"], "vm": vm})

    def mount(self, router: respx.Router) -> None:
        router.get(f"{self.BASE}/vms/machine-types").mock(
            return_value=httpx.Response(200, json=_route_json("cudo", "create", 0)))
        router.post(f"{self.BASE}/projects/ml-team/vm").mock(side_effect=self._create)
        router.get(f"{self.BASE}/projects/ml-team/vms").mock(
            side_effect=lambda request: httpx.Response(200, json={"VMs": self.created}))
        router.get(f"{self.BASE}/projects/ml-team").mock(
            return_value=httpx.Response(200, json=_route_json("cudo", "good_key", 0)))


class FakeTensorDock(FakeCloud):
    BASE = "https://dashboard.tensordock.com/api/v2"

    def __init__(self) -> None:
        super().__init__("tensordock", {"api_key": "td-fake-cloud-key"}, "h100-sxm5-80gb", "Manassas, United States")

    def _create(self, request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)
        self.sent.append(sent)
        listed = _route_json("tensordock", "get", 0)["data"]
        listed["id"] = f"9c4a5f6e-7d81-4293-be0f-2a3b4c5d6e{len(self.created):02d}"
        listed["attributes"].update(name=sent["data"]["attributes"]["name"], status="starting")
        self.created.append(listed)
        return httpx.Response(201, json={"data": {"type": "virtualmachine", "id": listed["id"],
                                                  "name": listed["attributes"]["name"], "status": "starting"}})

    def mount(self, router: respx.Router) -> None:
        router.get(f"{self.BASE}/locations").mock(
            return_value=httpx.Response(200, json=_route_json("tensordock", "create", 0)))
        router.post(f"{self.BASE}/instances").mock(side_effect=self._create)
        router.get(f"{self.BASE}/instances").mock(side_effect=lambda request: httpx.Response(200, json={
            "data": {"type": "list", "id": "instances", "attributes": {"instances": self.created}}}))


class FakeFluidStack(FakeCloud):
    BASE = "https://platform.fluidstack.io"

    def __init__(self) -> None:
        super().__init__("fluidstack", {"api_key": "fs-fake-cloud-key"}, "H100_SXM5_80GB.1x", "CANADA")

    def _create(self, request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)
        self.sent.append(sent)
        listed = _route_json("fluidstack", "get", 0)
        listed.update(id=f"a5b9c3d7-6e8f-4a01-b24d-5e6f708192{len(self.created):02d}", name=sent["name"],
                      status="pending", ip_address=None)
        self.created.append(listed)
        return httpx.Response(200, json={"id": listed["id"]})

    def mount(self, router: respx.Router) -> None:
        router.get(f"{self.BASE}/ssh_keys").mock(
            return_value=httpx.Response(200, json=_route_json("fluidstack", "create", 0)))
        router.post(f"{self.BASE}/instances").mock(side_effect=self._create)
        router.get(f"{self.BASE}/instances").mock(side_effect=lambda request: httpx.Response(200, json=self.created))


class FakeShadeform(FakeCloud):
    BASE = "https://api.shadeform.ai/v1"

    def __init__(self) -> None:
        super().__init__("shadeform", {"api_key": "sf-fake-cloud-key"}, "massedcompute/gpu_1x_a6000", "us-central-1")

    def _create(self, request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)
        self.sent.append(sent)
        listed = _route_json("shadeform", "get", 0)
        listed.update(id=f"9c5fb0d7-6183-4eac-9f42-b3d75e6b82{len(self.created):02d}", name=sent["name"],
                      cloud=sent["cloud"], region=sent["region"], tags=sent.get("tags", []), status="creating", ip=None)
        self.created.append(listed)
        return httpx.Response(200, json={"id": listed["id"]})

    def mount(self, router: respx.Router) -> None:
        router.get(f"{self.BASE}/instances/types").mock(
            return_value=httpx.Response(200, json=_route_json("shadeform", "create", 0)))
        router.get(f"{self.BASE}/sshkeys").mock(
            return_value=httpx.Response(200, json=_route_json("shadeform", "create", 1)))
        router.post(f"{self.BASE}/sshkeys/add").mock(
            return_value=httpx.Response(200, json=_route_json("shadeform", "create", 2)))
        router.post(f"{self.BASE}/instances/create").mock(side_effect=self._create)
        router.get(f"{self.BASE}/instances").mock(
            side_effect=lambda request: httpx.Response(200, json={"instances": self.created}))


class FakeHotAisle(FakeCloud):
    BASE = "https://admin.hotaisle.app/api"
    TEAM = f"{BASE}/teams/ml-lab"

    def __init__(self) -> None:
        super().__init__("hotaisle", {"api_key": "ha-fake-cloud-key", "team_handle": "ml-lab"}, "1x-mi300x-13c-224g",
                         "us-michigan-1")

    def _create(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(json.loads(request.content))
        vm = _route_json("hotaisle", "create", 3)
        vm.update(name=f"vm-{31 + len(self.created)}", id=f"vm-{31 + len(self.created)}")
        self.created.append(vm)
        return httpx.Response(200, json={k: v for k, v in vm.items() if k != "id"})

    def _describe(self, request: httpx.Request, vm: str) -> httpx.Response:
        sent = json.loads(request.content)
        self.sent.append(sent)
        for created in self.created:
            if created["name"] == vm:
                created["description"] = sent["description"]
        return httpx.Response(204)

    def _listed(self) -> list[dict]:
        return [{k: v for k, v in vm.items() if k != "id"} for vm in self.created]

    def mount(self, router: respx.Router) -> None:
        router.get(f"{self.TEAM}/virtual_machines/available/").mock(
            return_value=httpx.Response(200, json=_route_json("hotaisle", "create", 0)))
        router.get(f"{self.BASE}/user/ssh_keys/").mock(
            return_value=httpx.Response(200, json=_route_json("hotaisle", "create", 1)))
        router.post(f"{self.BASE}/user/ssh_keys/").mock(
            return_value=httpx.Response(200, json=_route_json("hotaisle", "create", 2)))
        router.post(f"{self.TEAM}/virtual_machines/").mock(side_effect=self._create)
        router.patch(url__regex=rf"{self.TEAM}/virtual_machines/(?P<vm>[^/]+)/").mock(side_effect=self._describe)
        router.get(url__regex=rf"{self.TEAM}/virtual_machines/[^/]+/state/").mock(
            return_value=httpx.Response(200, json={"state": "running", "host": "hv-01"}))
        router.get(f"{self.TEAM}/virtual_machines/").mock(
            side_effect=lambda request: httpx.Response(200, json=self._listed()))


class FakePrimeIntellect(FakeCloud):
    BASE = "https://api.primeintellect.ai/api/v1"

    def __init__(self) -> None:
        super().__init__("primeintellect", {"api_key": "pi-fake-cloud-key"}, "massedcompute/A6000_48GBx1",
                         "us-kansascity-1")

    def _create(self, request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)
        self.sent.append(sent)
        pod = _route_json("primeintellect", "create", 3)
        pod.update(id=f"pod-fake{len(self.created):012d}", name=sent["pod"]["name"])
        self.created.append(pod)
        return httpx.Response(200, json=pod)

    def mount(self, router: respx.Router) -> None:
        router.get(f"{self.BASE}/availability/gpus").mock(
            return_value=httpx.Response(200, json=_route_json("primeintellect", "create", 0)))
        router.get(f"{self.BASE}/ssh_keys/").mock(
            return_value=httpx.Response(200, json=_route_json("primeintellect", "create", 1)))
        router.post(f"{self.BASE}/ssh_keys/").mock(
            return_value=httpx.Response(200, json=_route_json("primeintellect", "create", 2)))
        router.post(f"{self.BASE}/pods/").mock(side_effect=self._create)
        router.get(f"{self.BASE}/pods/").mock(side_effect=lambda request: httpx.Response(200, json={
            "total_count": len(self.created), "offset": 0, "limit": 100, "data": self.created}))


FAKE_CLOUDS = {"digitalocean": FakeDigitalOcean, "cudo": FakeCudo, "tensordock": FakeTensorDock,
               "fluidstack": FakeFluidStack, "shadeform": FakeShadeform, "hotaisle": FakeHotAisle,
               "primeintellect": FakePrimeIntellect}
