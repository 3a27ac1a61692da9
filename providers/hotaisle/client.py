"""Raw HTTP for Hot Aisle's API (https://admin.hotaisle.app/api, swagger.json in hotaisle/hotaisle-cli).

Auth is ``Authorization: Token <key>``; VMs belong to a team (``/teams/{team}/...``) and are named
by Hot Aisle (``vm-01``): the name is the VM's id. ``POST virtual_machines/`` provisions an
available VM matching the specs sent and answers with it; its power state is a separate call
(``GET .../{vm}/state/``); ``start/``, ``stop/`` (forced), ``reboot/`` answer 204. Error bodies
are plain strings ("Not Found: Resource not found"); on provision the codes have their own
meaning: 401 "maximum VMs already provisioned", 402 insufficient balance, 404 no available VM.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from providers.errors import BadResponse, NoCapacity, ProviderError, QuotaExceeded
from providers.http import request_json

BASE_URL = "https://admin.hotaisle.app/api"
NAME = "hotaisle"


def _text(body: Any) -> str:
    if isinstance(body, str):
        return body[:300]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("message") or body.get("error") or "")[:300]
    return ""


def _refused_provision(response: httpx.Response, body: Any) -> ProviderError | None:
    status, words = response.status_code, _text(body)
    if status == 402 or (status == 401 and "maximum" in words.lower()):
        # 401 is also a refused key: only the documented "Maximum VMs ..." answer is a limit.
        return QuotaExceeded(words or "over the team's VM limit or balance", provider=NAME, status_code=status)
    if status == 404:
        return NoCapacity(words or "no available virtual machine matches", provider=NAME, status_code=status)
    return None


class HotAisleClient:
    def __init__(self, http: httpx.AsyncClient, api_key: str, team: str) -> None:
        self._http = http
        self._headers = {"Authorization": f"Token {api_key}", "Accept": "application/json"}
        self._team = f"{BASE_URL}/teams/{_segment(team)}"

    async def _call(self, method: str, url: str, mapper=None, **kw: Any) -> Any:
        return await request_json(self._http, method, url, provider=NAME, headers=self._headers, mapper=mapper, **kw)

    async def _list(self, url: str, what: str) -> list:
        body = await self._call("GET", url)
        if not isinstance(body, list):
            detail = _text(body)
            raise BadResponse(f"expected a list of {what}" + (f": {detail}" if detail else ""), provider=NAME)
        return body

    async def _object(self, method: str, url: str, **kw: Any) -> dict:
        body = await self._call(method, url, **kw)
        if not isinstance(body, dict):
            raise BadResponse(f"{method} {url.removeprefix(BASE_URL)}: expected an object", provider=NAME)
        return body

    def _vm(self, vm: str, action: str = "") -> str:
        return f"{self._team}/virtual_machines/{_segment(vm)}/{action}"

    async def available(self) -> list:
        return await self._list(f"{self._team}/virtual_machines/available/", "virtual machines")

    async def instances(self) -> list:
        return await self._list(f"{self._team}/virtual_machines/", "virtual machines")

    async def instance(self, vm: str) -> dict:
        return await self._object("GET", self._vm(vm))

    async def state(self, vm: str) -> dict:
        return await self._object("GET", self._vm(vm, "state/"))

    async def provision(self, specs: dict[str, Any]) -> dict:
        return await self._object("POST", f"{self._team}/virtual_machines/", mapper=_refused_provision, json=specs)

    async def describe(self, vm: str, description: str) -> None:
        await self._call("PATCH", self._vm(vm), json={"description": description})

    async def delete_instance(self, vm: str) -> None:
        # force: a VM inside its minimum reservation time is deleted too (that minimum is billed
        # anyway, refunded or not); without it a delete is refused for the first minutes.
        await self._call("DELETE", self._vm(vm), params={"force": "true"})

    async def power(self, vm: str, action: str) -> None:
        """``start/``, ``stop/`` or ``reboot/`` (POST, 204)."""
        await self._call("POST", self._vm(vm, f"{action}/"))

    async def ssh_keys(self) -> list:
        return await self._list(f"{BASE_URL}/user/ssh_keys/", "SSH keys")

    async def add_ssh_key(self, authorized_key: str) -> None:
        await self._call("POST", f"{BASE_URL}/user/ssh_keys/", json={"authorized_key": authorized_key})


def _segment(value: str) -> str:
    return quote(value, safe="")
