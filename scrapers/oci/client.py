"""Raw HTTP for Oracle's Cost Estimator data files (public, no auth, undocumented: fields drift)."""

from __future__ import annotations

from typing import Any

import httpx

from providers.errors import BadResponse
from providers.http import request_json

BASE_URL = "https://www.oracle.com/a/ocom/docs/cloudestimator2/data"
NAME = "oci"


class CostEstimatorClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def shapes(self) -> list[Any]:
        return await self._items("shapes.json")

    async def products(self) -> list[Any]:
        return await self._items("products.json")

    async def _items(self, resource: str) -> list[Any]:
        body = await request_json(self._http, "GET", f"{BASE_URL}/{resource}", provider=NAME)
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise BadResponse(f"{resource} has no `items` list", provider=NAME)
        return body["items"]
