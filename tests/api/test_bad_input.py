"""Bad input gets a 400 JSON naming the parameter; an unknown GPU in a path is a 404 JSON."""

from __future__ import annotations

import pytest

BAD_REQUESTS = [
    ("/api/v1/prices?per_page=0", "per_page"),
    ("/api/v1/prices?per_page=501", "per_page"),
    ("/api/v1/prices?per_page=ten", "per_page"),
    ("/api/v1/prices?page=0", "page"),
    ("/api/v1/prices?page=-3", "page"),
    ("/api/v1/prices?max_price=-1", "max_price"),
    ("/api/v1/prices?max_price=abc", "max_price"),
    ("/api/v1/prices?max_price=NaN", "max_price"),
    ("/api/v1/prices?max_price=1e400", "max_price"),
    ("/api/v1/prices?min_memory=-5", "min_memory"),
    ("/api/v1/prices?min_memory=2000", "min_memory"),
    ("/api/v1/prices?sort=bogus", "sort"),
    ("/api/v1/prices?provider=unknown", "provider"),
    ("/api/v1/prices?provider=runpod,nope", "provider"),
    ("/api/v1/prices?gpu=unknown", "gpu"),
    ("/api/v1/prices?spot=maybe", "spot"),
    ("/api/v1/prices?available=perhaps", "available"),
    ("/api/v1/gpus/h100/history?days=0", "days"),
    ("/api/v1/gpus/h100/history?days=366", "days"),
    ("/api/v1/gpus/h100/history?market=bogus", "market"),
    ("/api/v1/history", "gpu"),
    ("/api/v1/history?gpu=unknown", "gpu"),
    ("/api/v1/history?gpu=h100&since=yesterday", "since"),
    ("/api/v1/history?gpu=h100&per_page=0", "per_page"),
    ("/api/v1/history?gpu=h100&page=0", "page"),
]


@pytest.mark.parametrize(("url", "parameter"), BAD_REQUESTS)
async def test_bad_parameter_is_a_400_naming_it(client, offers, url, parameter):
    response = await client.get(url)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status_code"] == 400
    assert parameter in body["detail"].lower(), body["detail"]


@pytest.mark.parametrize("url", ["/api/v1/gpus/h999", "/api/v1/gpus/h999/history", "/api/v1/gpus/nvidia-h100"])
async def test_unknown_gpu_is_a_404_json(client, offers, url):
    response = await client.get(url)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    slug = url.split("/")[4]
    assert response.json() == {"status_code": 404, "detail": f"unknown GPU {slug!r}"}


async def test_unknown_api_path_is_a_404_json(client, sessions):
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["status_code"] == 404
