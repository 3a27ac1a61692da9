"""Keys for DigitalOcean, CUDO, TensorDock, FluidStack, Shadeform, Hot Aisle and Prime Intellect
are bound from the page like any provider's: the
form asks for each credential (CUDO: project and key; Hot Aisle: key and team), the key is checked with the provider's
own API first, and a refused key is not stored."""

from __future__ import annotations

import html
import re

import httpx
import pytest
import respx

from tests.bindings.helpers import bindings_of

DO_ACCOUNT = "https://api.digitalocean.com/v2/account"
CUDO_PROJECT = "https://rest.compute.cudo.org/v1/projects/ml-team"
TD_INSTANCES = "https://dashboard.tensordock.com/api/v2/instances"
FS_INSTANCES = "https://platform.fluidstack.io/instances"
SF_INSTANCES = "https://api.shadeform.ai/v1/instances"
HA_VMS = "https://admin.hotaisle.app/api/teams/ml-lab/virtual_machines/"
PI_PODS = "https://api.primeintellect.ai/api/v1/pods/"
GOOD, BAD = "good-key-" + "G7h2" * 6, "bad-key-" + "B4d9" * 6


def refusing(good_answer: httpx.Response, bad_answer: httpx.Response):
    def answer(request: httpx.Request) -> httpx.Response:
        sent = (request.headers.get("Authorization") or request.headers.get("api-key")
                or request.headers.get("X-API-KEY"))
        return good_answer if sent in (f"Bearer {GOOD}", f"Token {GOOD}", GOOD) else bad_answer
    return answer


CASES = {
    "digitalocean": (DO_ACCOUNT, {}, refusing(
        httpx.Response(200, json={"account": {"droplet_limit": 25, "status": "active", "uuid": "b6fr89"}}),
        httpx.Response(401, json={"id": "unauthorized", "message": "Unable to authenticate you"}))),
    "cudo": (CUDO_PROJECT, {"project_id": "ml-team"}, refusing(
        httpx.Response(200, json={"id": "ml-team", "billingAccountId": "ba-7f3c2e1d"}),
        httpx.Response(401, json={"code": 16, "message": "request unauthenticated with bearer", "details": []}))),
    "tensordock": (TD_INSTANCES, {}, refusing(
        httpx.Response(200, json={"data": {"type": "list", "id": "instances", "attributes": {"instances": []}}}),
        httpx.Response(401, json={"errors": [{"status": "401", "title": "Unauthorized",
                                              "detail": "Invalid or expired API token"}]}))),
    "fluidstack": (FS_INSTANCES, {}, refusing(
        httpx.Response(200, json=[]), httpx.Response(401, json={"detail": "Invalid API key"}))),
    "shadeform": (SF_INSTANCES, {}, refusing(
        httpx.Response(200, json={"instances": []}), httpx.Response(401, json={"message": "Invalid API key"}))),
    "primeintellect": (PI_PODS, {}, refusing(
        httpx.Response(200, json={"total_count": 0, "offset": 0, "limit": 100, "data": []}),
        httpx.Response(401, json={"detail": "Invalid API key"}))),
    "hotaisle": (HA_VMS, {"team_handle": "ml-lab"}, refusing(httpx.Response(200, json=[]), httpx.Response(401, json="Unauthorized"))),
}
FIELDS = {"cudo": ["project_id", "api_key"], "hotaisle": ["api_key", "team_handle"]}


async def add(browser, provider: str, extra: dict[str, str], key: str) -> httpx.Response:
    return await browser.submit(f"/settings/providers/new?provider={provider}", "/settings/providers",
                                {"provider": provider, "label": "", "api_key": key, **extra})


@pytest.mark.parametrize("provider", sorted(CASES))
async def test_the_provider_is_offered_with_its_credential_fields(ada, provider):
    listed = await ada.browser.get("/settings/providers")
    assert f'<option value="{provider}">' in listed.text
    form = await ada.browser.get(f"/settings/providers/new?provider={provider}")
    fields = re.findall(r'<input type="password" name="([a-z_]+)"', form.text)
    assert fields == FIELDS.get(provider, ["api_key"])


@pytest.mark.parametrize("provider", sorted(CASES))
async def test_a_refused_key_is_not_stored_and_a_good_one_is_verified(ada, sessions, provider):
    url, extra, answer = CASES[provider]
    with respx.mock(assert_all_mocked=True) as api:
        checked = api.get(url).mock(side_effect=answer)

        refused = await add(ada.browser, provider, extra, BAD)
        assert checked.called and refused.status_code == 400
        assert "refused this key" in html.unescape(refused.text)
        assert BAD not in refused.text
        assert await bindings_of(sessions, ada.user_id) == []

        added = await add(ada.browser, provider, extra, GOOD)

    assert added.status_code in (302, 303), added.text[:400]
    [row] = await bindings_of(sessions, ada.user_id)
    assert (row.provider, row.status) == (provider, "verified")
