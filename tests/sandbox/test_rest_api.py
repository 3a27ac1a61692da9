"""The sandbox's REST API as documented in providers/sandbox/server.py, spoken to directly."""

from __future__ import annotations

import pytest

from providers.sandbox import generate_api_key
from providers.sandbox.server import BASE_URL, in_process_client


@pytest.fixture
async def http(cloud):
    async with in_process_client(cloud) as client:
        yield client


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


LAUNCH = {"name": "n1", "instance_type": "sbx.rtx4090.1x", "region": "sandbox-eu-1", "client_token": "t-1"}


async def test_offers_are_public_and_priced_as_strings(http):
    response = await http.get(f"{BASE_URL}/offers")
    assert response.status_code == 200
    rows = response.json()["data"]
    assert {r["region"] for r in rows} == {"sandbox-eu-1", "sandbox-us-1"}
    assert {r["spot"] for r in rows} == {True, False}
    assert all(isinstance(r["price_per_hour"], str) for r in rows)


async def test_create_answers_201_then_200_for_the_same_client_token(http, api_key):
    first = await http.post(f"{BASE_URL}/instances", json=LAUNCH, headers=auth(api_key))
    replay = await http.post(f"{BASE_URL}/instances", json=LAUNCH, headers=auth(api_key))
    assert (first.status_code, replay.status_code) == (201, 200)
    assert first.json()["id"] == replay.json()["id"]
    assert first.json()["tags"] == {"client_token": "t-1"}
    assert first.json()["price_per_hour"] == "0.39"


async def test_delete_answers_202_then_204_once_terminated_then_404_once_gone(http, api_key, clock):
    instance_id = (await http.post(f"{BASE_URL}/instances", json=LAUNCH, headers=auth(api_key))).json()["id"]
    url = f"{BASE_URL}/instances/{instance_id}"
    accepted = await http.delete(url, headers=auth(api_key))
    assert accepted.status_code == 202 and accepted.json()["status"] == "terminating"
    clock.advance(5)
    assert (await http.delete(url, headers=auth(api_key))).status_code == 204
    clock.advance(600)
    gone = await http.delete(url, headers=auth(api_key))
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"


async def test_invalid_state_is_409_with_an_error_envelope(http, api_key):
    instance_id = (await http.post(f"{BASE_URL}/instances", json=LAUNCH, headers=auth(api_key))).json()["id"]
    response = await http.post(f"{BASE_URL}/instances/{instance_id}/actions/start", headers=auth(api_key))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_state"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic sbx_0123456789abcdefgh"}])
async def test_missing_or_bad_auth_is_401(http, headers):
    response = await http.get(f"{BASE_URL}/instances", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "invalid_api_key", "message": "the API key is missing or malformed"}}


async def test_unknown_route_and_bad_json_use_the_error_envelope(http, api_key):
    unknown = await http.get(f"{BASE_URL}/volumes", headers=auth(api_key))
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    bad = await http.post(f"{BASE_URL}/instances", content=b"{not json", headers=auth(api_key))
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"


async def test_faults_over_http_and_they_can_always_be_switched_off(http, api_key):
    put = await http.put(f"{BASE_URL}/faults", json={"rate_limited": True, "retry_after_seconds": 9,
                                                     "no_capacity_types": ["sbx.h100.8x"]}, headers=auth(api_key))
    assert put.status_code == 200 and put.json()["rate_limited"] is True

    limited = await http.get(f"{BASE_URL}/instances", headers=auth(api_key))
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "9"
    assert limited.json()["error"]["code"] == "rate_limited"

    # /v1/faults itself is never faulted, so the demo can turn them off
    assert (await http.put(f"{BASE_URL}/faults", json={}, headers=auth(api_key))).status_code == 200
    assert (await http.get(f"{BASE_URL}/instances", headers=auth(api_key))).status_code == 200
    assert (await http.get(f"{BASE_URL}/faults", headers=auth(api_key))).json()["rate_limited"] is False


async def test_bad_faults_are_400_and_change_nothing(http, api_key, cloud):
    response = await http.put(f"{BASE_URL}/faults", json={"api_error_rate": 3}, headers=auth(api_key))
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"
    assert cloud.faults(api_key).api_error_rate == 0


async def test_faults_of_one_key_do_not_touch_another(http, api_key):
    await http.put(f"{BASE_URL}/faults", json={"api_error_rate": 1}, headers=auth(api_key))
    assert (await http.get(f"{BASE_URL}/instances", headers=auth(api_key))).status_code == 500
    assert (await http.get(f"{BASE_URL}/instances", headers=auth(generate_api_key()))).status_code == 200
