"""Raw HTTP for the DigitalOcean API (https://api.digitalocean.com/v2). No business logic here.

Lists page with ``page``/``per_page`` and a ``links.pages.next`` URL. Errors are an envelope
``{"id", "message", "request_id"}``; a 429 carries ``Retry-After`` (seconds, since 2023).
"""

from __future__ import annotations

from typing import Any

import httpx

from providers.errors import (
    BadResponse,
    InvalidCredentials,
    InvalidRequest,
    NoCapacity,
    NotFound,
    ProviderError,
    QuotaExceeded,
)
from providers.http import request_json

BASE_URL = "https://api.digitalocean.com/v2"
NAME = "digitalocean"
PER_PAGE = 200
MAX_PAGES = 20  # ~150 sizes exist today: one page; many more means the paging went wrong

# DigitalOcean's error `id`s -> our types. Branch on `id`, never on `message`...
_ERROR_IDS: dict[str, type[ProviderError]] = {
    "unauthorized": InvalidCredentials,
    "forbidden": InvalidCredentials,
    "not_found": NotFound,
    "bad_request": InvalidRequest,
    "unprocessable_entity": InvalidRequest,
}
# ...except that a 422 `unprocessable_entity` is also how DigitalOcean says "sold out here"
# (with `error_attributes.available_regions`) and "over your Droplet limit": no other field
# tells those apart, so for 422 alone the documented wording decides.
_CAPACITY_HINTS = ("temporarily unavailable", "capacity", "not available in this region")
_QUOTA_HINTS = ("droplet limit", "gpu limit", "exceed your", "quota")


def _unprocessable_type(body: dict) -> type[ProviderError]:
    attributes = body.get("error_attributes")
    if isinstance(attributes, dict) and "available_regions" in attributes:
        return NoCapacity
    words = str(body.get("message") or "").lower()
    if any(hint in words for hint in _QUOTA_HINTS):
        return QuotaExceeded
    if any(hint in words for hint in _CAPACITY_HINTS):
        return NoCapacity
    return InvalidRequest


def _error_from_envelope(response: httpx.Response, body: Any) -> ProviderError | None:
    if not isinstance(body, dict) or response.status_code == 429:
        return None  # the shared layer owns 429 + Retry-After
    error_id = str(body.get("id", ""))
    cls = _ERROR_IDS.get(error_id)
    if cls is None:
        return None
    if error_id == "unprocessable_entity":
        cls = _unprocessable_type(body)
    message = str(body.get("message") or error_id)
    return cls(f"{message} ({error_id})", provider=NAME, status_code=response.status_code)


def _next_page(body: dict) -> str | None:
    links = body.get("links")
    pages = links.get("pages") if isinstance(links, dict) else None
    next_url = pages.get("next") if isinstance(pages, dict) else None
    return next_url if isinstance(next_url, str) and next_url else None


class DigitalOceanClient:
    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self._http = http
        self._headers = {"Authorization": f"Bearer {token}"}

    async def _call(self, method: str, url: str, key: str | None = None, **kw: Any) -> Any:
        """One request; with ``key``, the body must be an object holding it (returned)."""
        if not url.startswith("https://"):
            url = f"{BASE_URL}{url}"
        body = await request_json(
            self._http, method, url, provider=NAME, mapper=_error_from_envelope, headers=self._headers, **kw,
        )
        if key is None:
            return body
        if not isinstance(body, dict) or key not in body:
            # e.g. an error envelope behind a proxy that answered 200
            mapped = _error_from_envelope(httpx.Response(200), body)
            raise mapped or BadResponse(f"response has no `{key}`", provider=NAME)
        return body[key]

    async def _get(self, url: str, list_key: str) -> dict:
        body = await self._call("GET", url)
        if not isinstance(body, dict) or not isinstance(body.get(list_key), list):
            mapped = _error_from_envelope(httpx.Response(200), body)
            raise mapped or BadResponse(f"response has no `{list_key}` list", provider=NAME)
        return body

    async def _paged(self, path: str, list_key: str) -> list:
        """Every item of a paged list, following `links.pages.next` until it is absent."""
        url = f"{BASE_URL}{path}?per_page={PER_PAGE}"
        requested: set[str] = set()
        items: list = []
        while True:
            if len(requested) >= MAX_PAGES:
                raise BadResponse(f"`{path}` did not end within {MAX_PAGES} pages", provider=NAME)
            requested.add(url)
            body = await self._get(url, list_key)
            items.extend(body[list_key])
            next_url = _next_page(body)
            if next_url is None:
                return items
            if next_url in requested:
                raise BadResponse(f"`{path}` paging loops back to {next_url}", provider=NAME)
            if not next_url.startswith(f"{BASE_URL}/"):
                # The token goes with every request: never follow a link off the API host.
                raise BadResponse(f"`{path}` next page points off the API: {next_url}", provider=NAME)
            url = next_url

    async def sizes(self) -> list:
        return await self._paged("/sizes", "sizes")

    async def account(self) -> Any:
        return await self._call("GET", "/account", "account")

    async def droplets(self) -> list:
        return await self._paged("/droplets", "droplets")

    async def droplet(self, droplet_id: int) -> Any:
        return await self._call("GET", f"/droplets/{droplet_id}", "droplet")

    async def create_droplet(self, payload: dict[str, Any]) -> Any:
        try:
            return await self._call("POST", "/droplets", "droplet", json=payload)
        except NotFound as exc:
            # On create a 404 names our input (image, SSH key): a refused request, not a gone Droplet.
            raise InvalidRequest(exc.message, provider=NAME, status_code=exc.status_code) from exc

    async def delete_droplet(self, droplet_id: int) -> None:
        await self._call("DELETE", f"/droplets/{droplet_id}")  # 204, no body

    async def droplet_action(self, droplet_id: int, action_type: str) -> Any:
        return await self._call("POST", f"/droplets/{droplet_id}/actions", "action", json={"type": action_type})

    async def ssh_keys(self) -> list:
        return await self._paged("/account/keys", "ssh_keys")

    async def ssh_key(self, fingerprint: str) -> Any:
        return await self._call("GET", f"/account/keys/{fingerprint}", "ssh_key")

    async def add_ssh_key(self, name: str, public_key: str) -> Any:
        return await self._call("POST", "/account/keys", "ssh_key", json={"name": name, "public_key": public_key})
