"""Raw HTTP for RunPod: GraphQL for prices, REST v2 for pods. No business logic here.

Prices come from GraphQL (https://api.runpod.io/graphql) because it is the only RunPod API with
spot prices and the `gpuTypes` query needs no key. Pods use REST v2 (https://api.runpod.io/v2,
spec: runpod/docs api-reference-v2/openapi.json): GraphQL is deprecated and REST v1 is retired.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

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

GRAPHQL_URL = "https://api.runpod.io/graphql"
REST_URL = "https://api.runpod.io/v2"
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


class Conflict(InvalidRequest):
    """HTTP 409: the action is not valid in the pod's current state (or the pod belongs to a cluster)."""


# A create answers 400 both for "breaks a rule" and for "this GPU could not be placed": the spec
# says capacity exhaustion has no code of its own, only a human-readable `detail`. So the words
# decide (GraphQL's and runpodctl's wording, "There are no longer any instances available...";
# v2's own wording is unconfirmed: keep the hints narrow).
_CAPACITY_HINTS = ("no longer any instances available", "could not be placed", "capacity")


def _problem_detail(body: dict) -> str:
    detail = str(body.get("detail") or body.get("title") or "no detail")
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        detail += ": " + "; ".join(str(e) for e in errors[:3])
    return detail[:300]


def _problem(response: httpx.Response, body: Any) -> ProviderError | None:
    """REST v2 errors are RFC 9457 problem+json ``{title, status, detail, errors?}``."""
    status = response.status_code
    if status == 429 or not isinstance(body, dict):
        return None  # the shared layer owns 429 + Retry-After (and non-JSON bodies)
    detail = _problem_detail(body)
    kw: dict[str, Any] = {"provider": NAME, "status_code": status}
    if status == 402:  # "Insufficient balance. Stop; no candidate will succeed."
        return QuotaExceeded(f"RunPod refused for lack of account balance: {detail}", **kw)
    if status == 409:
        return Conflict(detail, **kw)
    if status == 400 and any(hint in detail.lower() for hint in _CAPACITY_HINTS):
        return NoCapacity(f"RunPod has no capacity for this GPU right now: {detail}", **kw)
    if status in (400, 422):
        return InvalidRequest(f"RunPod refused the request: {detail}", **kw)
    return None


def _path_id(pod_id: str) -> str:
    if not pod_id:
        raise NotFound("no pod id", provider=NAME)
    return quote(pod_id, safe="")


class RunPodRestClient:
    """REST v2 pods. The key is required here (pods are private), sent as a Bearer header."""

    def __init__(self, http: httpx.AsyncClient, api_key: str) -> None:
        self._http = http
        self._headers = {"Authorization": f"Bearer {api_key}"}

    async def _call(self, method: str, path: str, **kw: Any) -> Any:
        return await request_json(
            self._http, method, f"{REST_URL}{path}", provider=NAME,
            mapper=_problem, headers=self._headers, **kw,
        )

    async def _pod_body(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        body = await self._call(method, path, **kw)
        if not isinstance(body, dict):
            raise BadResponse(f"{method} {path} did not answer a pod object", provider=NAME)
        return body

    async def pods(self) -> list[Any]:
        """The account's standalone pods (cluster members are managed through clusters, not here)."""
        body = await self._call("GET", "/pods")
        if not isinstance(body, dict) or not isinstance(body.get("pods"), list):
            raise BadResponse("GET /pods did not answer a `pods` list", provider=NAME)
        return body["pods"]

    async def pod(self, pod_id: str) -> dict[str, Any]:
        return await self._pod_body("GET", f"/pods/{_path_id(pod_id)}")

    async def create_pod(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return await self._pod_body("POST", "/pods", json=body)
        except InvalidCredentials as exc:
            if exc.status_code != 403:
                raise
            # On create a 403 means "your account cannot access the requested pool" (or a
            # read-only key): the key itself works, so the binding must not be flagged as bad.
            raise InvalidRequest(
                f"RunPod refused this launch (HTTP 403: {exc.message}); the key may be read-only, "
                "or the account cannot use this GPU pool",
                provider=NAME, status_code=403,
            ) from exc
        except NotFound as exc:
            # On create a 404 names our input (e.g. a template), not a vanished pod.
            raise InvalidRequest(exc.message, provider=NAME, status_code=exc.status_code) from exc

    async def pod_action(self, pod_id: str, action: str) -> None:
        """`start`, `stop` or `restart`; the answer (the updated pod) is not needed."""
        try:
            await self._call("POST", f"/pods/{_path_id(pod_id)}/action", json={"action": action})
        except Conflict as exc:
            raise Conflict(
                f"RunPod cannot {action} this pod in its current state: {exc.message}",
                provider=NAME, status_code=exc.status_code,
            ) from exc

    async def delete_pod(self, pod_id: str) -> None:
        await self._call("DELETE", f"/pods/{_path_id(pod_id)}")
