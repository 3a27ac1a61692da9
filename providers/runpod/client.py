"""Raw HTTP for RunPod's GraphQL API (https://api.runpod.io/graphql). No business logic here.

Prices come from GraphQL because it is the only RunPod API with spot prices and the
`gpuTypes` query needs no key. Pod lifecycle calls (REST v2) will sit next to this client.
"""

from __future__ import annotations

from typing import Any

import httpx

from providers.errors import BadResponse
from providers.http import request_json

GRAPHQL_URL = "https://api.runpod.io/graphql"
NAME = "runpod"

# Per-GPU-hour list prices for each GPU type. The cloud flags say whether a price is real:
# RunPod fills communityPrice with a placeholder for types it does not sell in that cloud.
GPU_TYPES_QUERY = """
query GpuTypes {
  gpuTypes {
    id
    displayName
    memoryInGb
    secureCloud
    communityCloud
    securePrice
    communityPrice
    secureSpotPrice
    communitySpotPrice
  }
}
""".strip()


class RunPodClient:
    def __init__(self, http: httpx.AsyncClient, api_key: str = "") -> None:
        self._http = http
        # The key goes in a header, never in `?api_key=` (URLs end up in access logs).
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def _query(self, query: str) -> dict[str, Any]:
        body = await request_json(
            self._http, "POST", GRAPHQL_URL, provider=NAME, headers=self._headers, json={"query": query}
        )
        if not isinstance(body, dict):
            raise BadResponse("GraphQL answer is not an object", provider=NAME)
        # GraphQL reports query failures with HTTP 200 and an `errors` array.
        errors = body.get("errors")
        if errors:
            first = errors[0] if isinstance(errors, list) and errors else {}
            message = first.get("message") if isinstance(first, dict) else None
            raise BadResponse(f"GraphQL error: {message or errors!r}"[:300], provider=NAME)
        data = body.get("data")
        if not isinstance(data, dict):
            raise BadResponse("GraphQL answer has no `data` object", provider=NAME)
        return data

    async def gpu_types(self) -> Any:
        data = await self._query(GPU_TYPES_QUERY)
        if not isinstance(data.get("gpuTypes"), list):
            raise BadResponse("`data.gpuTypes` is not a list", provider=NAME)
        return data["gpuTypes"]
