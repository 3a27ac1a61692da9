"""Raw HTTP for Vultr's public plan lists (no key): /v2/plans and /v2/plans-metal, cursor-paged."""

from __future__ import annotations

from typing import Any

import httpx

from providers.errors import BadResponse
from providers.http import request_json

BASE_URL = "https://api.vultr.com/v2"
NAME = "vultr"
PER_PAGE = 500  # the documented maximum
MAX_PAGES = 20  # a few hundred plans in all; far more pages means the cursor walk is broken


class VultrClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def cloud_gpu_plans(self) -> list[Any]:
        return await self._all_pages("/plans", "plans", {"type": "vcg"})

    async def bare_metal_plans(self) -> list[Any]:
        return await self._all_pages("/plans-metal", "plans_metal", {})

    async def _all_pages(self, path: str, key: str, params: dict[str, str]) -> list[Any]:
        """Follow ``meta.links.next`` (a cursor, "" on the last page); a repeated cursor fails."""
        items: list[Any] = []
        cursor = ""
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            query = {**params, "per_page": str(PER_PAGE), **({"cursor": cursor} if cursor else {})}
            body = await request_json(self._http, "GET", f"{BASE_URL}{path}", provider=NAME, params=query)
            if not isinstance(body, dict) or not isinstance(body.get(key), list):
                detail = body.get("error") if isinstance(body, dict) else None
                raise BadResponse(f"response has no `{key}` list" + (f": {detail}" if detail else ""),
                                  provider=NAME)
            items.extend(body[key])
            cursor = _next_cursor(body)
            if not cursor:
                return items
            if cursor in seen:
                raise BadResponse(f"{path}: the next-page cursor repeats (pagination loop)", provider=NAME)
            seen.add(cursor)
        raise BadResponse(f"{path}: more than {MAX_PAGES} pages; stopped", provider=NAME)


def _next_cursor(body: dict[str, Any]) -> str:
    meta = body.get("meta")
    links = meta.get("links") if isinstance(meta, dict) else None
    cursor = links.get("next") if isinstance(links, dict) else None
    if cursor is None:
        return ""
    if not isinstance(cursor, str):
        raise BadResponse("meta.links.next is not a string", provider=NAME)
    return cursor
