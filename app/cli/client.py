"""A small synchronous client for the console API (``/api/v1/console``), for the command line.

Every failure is one of two types the commands turn into a message and an exit code: ``ApiError``
(the server answered 4xx or 5xx; its ``detail`` is the message) and ``Unreachable`` (no answer)."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from typing import Any

import httpx

API_PATH = "/api/v1/console"
DEFAULT_URL = "http://127.0.0.1:8000"
URL_VARIABLE = "COMPUTEHUB_API_URL"
TOKEN_VARIABLE = "COMPUTEHUB_API_TOKEN"


class ClientError(Exception):
    """Something the command reports and exits non-zero for; ``str()`` is the message."""


class ApiError(ClientError):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


class Unreachable(ClientError):
    pass


class MissingToken(ClientError):
    pass


def console_base(url: str) -> str:
    """``http://host:8000``, ``http://host:8000/`` or ``http://host:8000/api/v1/console``: the API's root."""
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ClientError(f"the API address must start with http:// or https://, got {url!r}")
    return url if url.endswith(API_PATH) else url + API_PATH


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    if isinstance(body, dict) and body.get("detail"):
        return str(body["detail"])
    return response.reason_phrase


class ConsoleClient:
    def __init__(self, url: str | None, token: str | None, *, timeout: float = 60,
                 transport: httpx.BaseTransport | None = None) -> None:
        token = (token or os.environ.get(TOKEN_VARIABLE) or "").strip()
        if not token:
            raise MissingToken(f"no API token: pass --token or set {TOKEN_VARIABLE} "
                               "(make one at /settings/api-tokens, or `computehub tokens create`)")
        self.base = console_base(url or os.environ.get(URL_VARIABLE) or DEFAULT_URL)
        self._http = httpx.Client(timeout=timeout, transport=transport,
                                  headers={"authorization": f"Bearer {token}", "accept": "application/json"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "ConsoleClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def root(self) -> str:
        """The server's address without the console API's path (the migrations and pools APIs sit beside it)."""
        return self.base[: -len(API_PATH)]

    def in_workspace(self, workspace_id: int | None) -> "ConsoleClient":
        """Act in this organization (``X-ComputeHub-Workspace``); None: the token's personal workspace."""
        if workspace_id is not None:
            self._http.headers["x-computehub-workspace"] = str(workspace_id)
        return self

    def request(self, method: str, path: str, *, body: Any = None, params: dict | None = None) -> Any:
        """``path`` below the console API (``/deployments``), or a whole API path (``/api/v1/migrations``)."""
        url = (self.root + path) if path.startswith("/api/") else self.base + path
        try:
            response = self._http.request(method, url, json=body,
                                          params={k: v for k, v in (params or {}).items() if v is not None})
        except httpx.TimeoutException:
            raise Unreachable(f"{self.base} did not answer in time") from None
        except httpx.TransportError as exc:
            raise Unreachable(f"could not reach {self.base}: {exc or type(exc).__name__}") from None
        if response.status_code >= 400:
            raise ApiError(response.status_code, _detail(response))
        if response.status_code == 204 or not response.content:
            return None
        try:  # amounts are strings already; a number with a fraction would still stay exact
            return json.loads(response.text, parse_float=Decimal)
        except ValueError:
            raise ApiError(response.status_code, f"the server's answer is not JSON: {response.text[:120]!r}") from None

    # ---- deployments ---------------------------------------------------------------------------
    def deployments(self) -> list[dict]:
        return self.request("GET", "/deployments")

    def deployment(self, instance_id: int) -> dict:
        return self.request("GET", f"/deployments/{instance_id}")

    def launch(self, **fields: Any) -> dict:
        return self.request("POST", "/deployments", body={k: v for k, v in fields.items() if v is not None})

    def act(self, instance_id: int, operation: str) -> dict:
        return self.request("POST", f"/deployments/{instance_id}/{operation}")

    def batch(self, operation: str, ids: list[int]) -> dict:
        return self.request("POST", "/batch", body={"operation": operation, "ids": ids})

    # ---- templates, costs ----------------------------------------------------------------------
    def templates(self) -> list[dict]:
        return self.request("GET", "/templates")

    def launch_template(self, template_id: int, key_id: int, name: str) -> dict:
        return self.request("POST", f"/templates/{template_id}/launch", body={"key_id": key_id, "name": name})

    def costs(self, **filters: str | None) -> dict:
        return self.request("GET", "/costs", params=filters)

    # ---- migrations ----------------------------------------------------------------------------
    def start_migration(self, **fields: Any) -> dict:
        return self.request("POST", "/api/v1/migrations", body={k: v for k, v in fields.items() if v is not None})

    def migration(self, migration_id: int) -> dict:
        return self.request("GET", f"/api/v1/migrations/{migration_id}")

    # ---- node pools ----------------------------------------------------------------------------
    def pools(self) -> list[dict]:
        return self.request("GET", "/api/v1/pools")

    def pool(self, pool_id: int) -> dict:
        return self.request("GET", f"/api/v1/pools/{pool_id}")

    def pool_named(self, name: str) -> dict:
        found = [p for p in self.pools() if p["name"] == name]
        if not found:
            raise ClientError(f"no pool named {name!r} in this workspace (see `computehub pool list`)")
        return found[0]

    def scale_pool(self, pool_id: int, target: int) -> dict:
        return self.request("POST", f"/api/v1/pools/{pool_id}/scale", body={"target_nodes": target})
