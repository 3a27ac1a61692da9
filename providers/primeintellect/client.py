"""Raw HTTP for Prime Intellect's API (https://api.primeintellect.ai, OpenAPI at /openapi.json). No logic.

Auth is ``Authorization: Bearer <key>``. Availability: ``GET /api/v1/availability/gpus`` (paged with
``page``/``page_size``, ``{"items", "totalCount"}``). Pods: ``GET /api/v1/pods/`` (paged with
``offset``/``limit``, ``{"total_count", "data"}``), ``POST /api/v1/pods/`` (``{"pod", "provider"}``,
answers the pod), ``GET|DELETE /api/v1/pods/{id}``. SSH keys: ``GET|POST /api/v1/ssh_keys/``.
Errors are ``{"errors": [{"param", "details"}]}`` (422 documented; FastAPI's ``{"detail"}`` too)
with no machine-readable code.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from providers.errors import BadResponse, InvalidRequest, NotFound, ProviderError
from providers.http import REFUSED_CREATE_STATUSES, refusal_by_words, request_json

BASE_URL = "https://api.primeintellect.ai/api/v1"
NAME = "primeintellect"
AVAILABILITY_PAGE_SIZE = 500  # the documented maximum
POD_PAGE_SIZE = 100  # the documented default `limit`
MAX_PAGES = 20

# Nothing but the words tells "sold out" or "wallet empty" apart from another refused create
# (kept narrow, create only).
_CAPACITY_HINTS = ("no capacity", "out of stock", "not available", "no longer available", "unavailable", "sold out")
_QUOTA_HINTS = ("insufficient", "balance", "wallet", "quota", "limit")


def details_of(body: Any) -> str:
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list):
            return "; ".join(str(e.get("details")) for e in errors if isinstance(e, dict) and e.get("details"))
        for key in ("detail", "message", "error"):
            if isinstance(body.get(key), str):
                return body[key]
    return ""


def _refused_create(response: httpx.Response, body: Any) -> ProviderError | None:
    if response.status_code not in REFUSED_CREATE_STATUSES:
        return None
    words = details_of(body)
    return (refusal_by_words(response, words, NAME, quota_hints=_QUOTA_HINTS, capacity_hints=_CAPACITY_HINTS)
            or InvalidRequest(words or "the pod request was refused", provider=NAME, status_code=response.status_code))


def _errors_envelope(response: httpx.Response, body: Any) -> ProviderError | None:
    """A 422 names its fields in ``errors[].details``: keep those words in the message."""
    if response.status_code == 422 and details_of(body):
        return InvalidRequest(details_of(body), provider=NAME, status_code=422)
    return None


class PrimeIntellectClient:
    def __init__(self, http: httpx.AsyncClient, api_key: str) -> None:
        self._http = http
        self._headers = {"Authorization": f"Bearer {api_key}"}

    async def _call(self, method: str, path: str, mapper=_errors_envelope, **kw: Any) -> Any:
        return await request_json(
            self._http, method, f"{BASE_URL}{path}", provider=NAME, headers=self._headers, mapper=mapper, **kw,
        )

    async def _object(self, method: str, path: str, **kw: Any) -> dict:
        body = await self._call(method, path, **kw)
        if not isinstance(body, dict):
            raise BadResponse(f"{method} {path}: expected an object", provider=NAME)
        return body

    async def availability(self, **filters: str) -> list:
        items: list = []
        for page in range(1, MAX_PAGES + 1):
            body = await self._call("GET", "/availability/gpus", params={
                **filters, "page": str(page), "page_size": str(AVAILABILITY_PAGE_SIZE)})
            if not isinstance(body, dict) or not isinstance(body.get("items"), list):
                detail = details_of(body)
                raise BadResponse("response has no `items` list" + (f": {detail}" if detail else ""), provider=NAME)
            total = body.get("totalCount")
            if isinstance(total, bool) or not isinstance(total, int):
                raise BadResponse("totalCount is not an integer", provider=NAME)
            items.extend(body["items"])
            if not body["items"] or len(items) >= total:
                return items
        raise BadResponse(f"more than {MAX_PAGES} pages of offers; stopped", provider=NAME)

    async def instances(self) -> list:
        pods: list = []
        for page in range(MAX_PAGES):
            body = await self._object("GET", "/pods/", params={
                "offset": str(page * POD_PAGE_SIZE), "limit": str(POD_PAGE_SIZE)})
            data, total = body.get("data"), body.get("total_count")
            if not isinstance(data, list) or isinstance(total, bool) or not isinstance(total, int):
                raise BadResponse("pods answer has no `data` list or `total_count`", provider=NAME)
            pods.extend(data)
            if not data or len(pods) >= total:
                return pods
        raise BadResponse(f"more than {MAX_PAGES} pages of pods; stopped", provider=NAME)

    async def instance(self, pod_id: str) -> dict:
        return await self._object("GET", f"/pods/{_segment(pod_id)}")

    async def create_instance(self, payload: dict[str, Any]) -> dict:
        try:
            return await self._object("POST", "/pods/", mapper=_refused_create, json=payload)
        except NotFound as exc:
            # On create a 404 names our input (cloud, GPU, key): a refused request.
            raise InvalidRequest(exc.message, provider=NAME, status_code=exc.status_code) from exc

    async def delete_instance(self, pod_id: str) -> None:
        await self._call("DELETE", f"/pods/{_segment(pod_id)}")

    async def ssh_keys(self) -> list:
        body = await self._object("GET", "/ssh_keys/", params={"offset": "0", "limit": "100"})
        if not isinstance(body.get("data"), list):
            raise BadResponse("SSH keys answer has no `data` list", provider=NAME)
        return body["data"]

    async def add_ssh_key(self, name: str, public_key: str) -> dict:
        return await self._object("POST", "/ssh_keys/", json={"name": name, "publicKey": public_key})


def _segment(value: str) -> str:
    return quote(value, safe="")
