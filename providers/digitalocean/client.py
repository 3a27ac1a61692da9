"""Raw HTTP for the DigitalOcean API (https://api.digitalocean.com/v2). No business logic here.

Lists page with ``page``/``per_page`` and a ``links.pages.next`` URL. Droplet calls
(``/droplets``, ``/droplets/{id}/actions``) will be added here with the console.
"""

from __future__ import annotations

from typing import Any

import httpx

from providers.errors import BadResponse, InvalidCredentials, InvalidRequest, NotFound, ProviderError
from providers.http import request_json

BASE_URL = "https://api.digitalocean.com/v2"
NAME = "digitalocean"
PER_PAGE = 200
MAX_PAGES = 20  # ~150 sizes exist today: one page; many more means the paging went wrong

# DigitalOcean's error `id`s -> our types. Branch on `id`, never on `message`.
_ERROR_IDS: dict[str, type[ProviderError]] = {
    "unauthorized": InvalidCredentials,
    "forbidden": InvalidCredentials,
    "not_found": NotFound,
    "bad_request": InvalidRequest,
    "unprocessable_entity": InvalidRequest,
}


def _error_from_envelope(response: httpx.Response, body: Any) -> ProviderError | None:
    if not isinstance(body, dict) or response.status_code == 429:
        return None
    cls = _ERROR_IDS.get(str(body.get("id", "")))
    if cls is None:
        return None
    message = str(body.get("message") or body["id"])
    return cls(f"{message} ({body['id']})", provider=NAME, status_code=response.status_code)


def _next_page(body: dict) -> str | None:
    links = body.get("links")
    pages = links.get("pages") if isinstance(links, dict) else None
    next_url = pages.get("next") if isinstance(pages, dict) else None
    return next_url if isinstance(next_url, str) and next_url else None


class DigitalOceanClient:
    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self._http = http
        self._headers = {"Authorization": f"Bearer {token}"}

    async def _get(self, url: str, list_key: str) -> dict:
        body = await request_json(
            self._http, "GET", url, provider=NAME, mapper=_error_from_envelope, headers=self._headers,
        )
        if not isinstance(body, dict) or not isinstance(body.get(list_key), list):
            # e.g. an error envelope behind a proxy that answered 200
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
