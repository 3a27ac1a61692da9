"""Raw HTTP for the Cloud Billing Catalog: every Compute Engine SKU, page by page (``pageToken``)."""

from __future__ import annotations

from typing import Any

import httpx

from providers.errors import BadResponse, InvalidCredentials, ProviderError
from providers.http import request_json

NAME = "gcp"
COMPUTE_SERVICE = "6F81-5844-456A"
BASE_URL = f"https://cloudbilling.googleapis.com/v1/services/{COMPUTE_SERVICE}/skus"
PAGE_SIZE = 5000  # the documented maximum
MAX_PAGES = 40  # Compute Engine has a few tens of thousands of SKUs


def _google_error(response: httpx.Response, body: Any) -> ProviderError | None:
    """Google answers a bad API key with 400 INVALID_ARGUMENT (reason API_KEY_INVALID): a refused key."""
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    reasons = {d.get("reason") for d in details if isinstance(d, dict)} if isinstance(details, list) else set()
    if reasons & {"API_KEY_INVALID", "API_KEY_SERVICE_BLOCKED", "SERVICE_DISABLED"}:
        return InvalidCredentials(f"the API key was refused: {error.get('message', '')}"[:300],
                                  provider=NAME, status_code=response.status_code)
    return None


class BillingCatalogClient:
    def __init__(self, http: httpx.AsyncClient, api_key: str) -> None:
        self._http = http
        self._api_key = api_key

    async def compute_skus(self) -> list[Any]:
        """Every SKU of every page; a repeated page token or too many pages fails the fetch."""
        skus: list[Any] = []
        token = ""
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            params = {"key": self._api_key, "currencyCode": "USD", "pageSize": str(PAGE_SIZE)}
            if token:
                params["pageToken"] = token
            body = await request_json(self._http, "GET", BASE_URL, provider=NAME, params=params,
                                      mapper=_google_error)
            if not isinstance(body, dict) or not isinstance(body.get("skus", []), list):
                raise BadResponse("response has no `skus` list", provider=NAME)
            skus.extend(body.get("skus", []))  # Google leaves an empty list out of the JSON
            token = body.get("nextPageToken") or ""
            if not isinstance(token, str):
                raise BadResponse("nextPageToken is not a string", provider=NAME)
            if not token:
                return skus
            if token in seen:
                raise BadResponse("nextPageToken repeats (pagination loop)", provider=NAME)
            seen.add(token)
        raise BadResponse(f"more than {MAX_PAGES} pages of SKUs; stopped", provider=NAME)
