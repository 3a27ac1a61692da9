"""``/api/v1/prices`` answered in front of Litestar (app/web/price_fast_path.py): for any query and
any Accept-Encoding, the app sends what it sends without the fast path (the Litestar route), status,
headers and bytes; valid plain queries are answered by the fast path, everything else by Litestar."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from urllib.parse import quote

import pytest
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

import app.api.prices as prices_api
from app.web.price_fast_path import PriceFastPath
from tests.api.conftest import OFFERS
from tests.auth.support import settings  # noqa: F401 - fixture
from tests.support.factories import NOW, make_offer, seed
from tests.web.test_page_cache import app_with

METRICS_TOKEN = "metrics-token-for-tests"
AT = NOW + timedelta(minutes=7)
"""The clock of both apps while they answer: ages and freshness read the same in both."""
VALUES = {  # (valid values in the plain form, anything else: invalid, or valid in another form)
    "gpu": (["h100", "a100", "h100-sxm", "rtx-4090", "l40s"], ["H100", "zzz", "", "null"]),
    "min_memory": (["0", "24", "80", "1024"], ["1025", "-1", "abc", "080", "+5", "", "2.5"]),
    "min_gpus": (["1", "0.5", "2", "0.125"], ["65", "1e1", "nan", "1.", ".5", "8"]),
    "max_gpus": (["8", "64", "2"], ["0.5", "inf", "1"]),
    "min_total_memory": (["0", "80", "160"], ["100000", "100001", "x"]),
    "max_price": (["0.5", "1", "2", "2.49", "3.00", "10000", "0.000001"], ["10001", "inf", "-1", "1,5"]),
    "provider": (["runpod", "vastai", "lambdalabs", "aws,azure", "runpod,vastai", " runpod", "runpod,,vastai"],
                 ["nosuch", "sandbox"]),
    "region": (["us", "EU", "quebec", "ro-1", "US-TX", "é", "%", "a_b"], []),
    "spot": (["true", "false"], ["1", "0", "True", "yes", ""]),
    "available": (["true", "false"], ["1", "null"]),
    "include_unreported": (["true", "false"], ["on"]),
    "price_basis": (["gpu_only", "instance", "smallest_vm", "gpu_only,instance"], ["bad"]),
    "sort": (["price", "-price", "gpu", "provider", "instance_price", "-instance_price", "memory", "gpus",
              "updated", "tflop_price"], ["bad", "-gpu"]),
    "page": (["1", "2", "3", "100000"], ["0", "100001", "01"]),
    "per_page": (["1", "2", "3", "50", "500"], ["501", "0"]),
    "unknown": ([], ["_=123", "foo=bar"]),
}
ENCODINGS = ["br", "gzip", "identity", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8", "deflate", "*", "BR", ""]
PLAIN_HEADERS = [{}, {"cookie": "computehub_csrf=abc"}, {"user-agent": "curl/8"}]
EXTRA_HEADERS = [*PLAIN_HEADERS, {"if-none-match": '"x"'}, {"range": "bytes=0-10"},
                 {"cookie": "computehub_session=nope"}, {"authorization": "Bearer x"}]


def random_query(rng: random.Random, valid_only: bool) -> str:
    """A query string: a few parameters, sometimes repeated or percent-encoded."""
    parts = []
    for name in rng.sample(sorted(VALUES), rng.randint(0, 5)):
        valid, invalid = VALUES[name]
        values = valid if valid_only else valid + invalid
        if not values:
            continue
        value = rng.choice(values)
        if name == "unknown":
            parts.append(value)
            continue
        parts.append(f"{name}={quote(value, safe='') if rng.random() < 0.7 else value}")
        if rng.random() < 0.1 and (name in ("provider", "price_basis") or not valid_only):
            parts.append(f"{name}={rng.choice(values)}")  # a list repeats; any other parameter must not
    return "&".join(parts)


def fast_path_of(app) -> PriceFastPath:
    handler = app.asgi_handler
    while not isinstance(handler, PriceFastPath):
        handler = handler.app
    return handler


def without_fast_path(app):
    """The same app with Litestar answering every request (the fast path taken out of the chain)."""
    outer = app.asgi_handler
    while not isinstance(outer.app, PriceFastPath):
        outer = outer.app
    outer.app = outer.app.app
    return app


async def wire(client: AsyncTestClient, url: str, headers: dict[str, str]) -> tuple[int, list, bytes]:
    """Status, headers in order (without the request id, new per response), the body as sent."""
    async with client.stream("GET", url, headers=headers) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
        sent = [(k, v) for k, v in response.headers.multi_items() if k != "x-request-id"]
        return response.status_code, sent, body


@pytest.fixture
async def apps(settings, engine, sessions, monkeypatch):  # noqa: F811 - the fixture imported above
    offers = [*OFFERS.values(), make_offer("lambdalabs", "A100 SXM", "1.10", instance_type="a100-1x"),
              make_offer("runpod", "L40S", "0.86", region="US-TX-3", instance_type="l40s")]
    await seed(sessions, offers, at=NOW)
    monkeypatch.setattr(prices_api, "utcnow", lambda: AT)
    settings = replace(settings, web=replace(settings.web, metrics_token=METRICS_TOKEN))
    fast, plain = app_with(settings, engine, backend="memory"), without_fast_path(app_with(settings, engine,
                                                                                           backend="memory"))
    async with AsyncTestClient(app=fast) as fast_client, AsyncTestClient(app=plain) as plain_client:
        yield fast_client, plain_client
    for app in (fast, plain):
        await app.state.response_cache.close()


@pytest.mark.parametrize("valid_only", [True, False], ids=["valid", "any"])
async def test_the_fast_path_sends_what_litestar_sends(apps, valid_only):
    fast, plain = apps
    layer = fast_path_of(fast.app)
    rng = random.Random(12 + valid_only)
    answered = statuses = 0
    for _ in range(120):
        url = f"/api/v1/prices?{random_query(rng, valid_only)}".rstrip("?")
        headers = {"accept-encoding": rng.choice(ENCODINGS),
                   **rng.choice(PLAIN_HEADERS if valid_only else EXTRA_HEADERS)}
        before = layer.answered
        got = await wire(fast, url, headers)
        assert got == await wire(plain, url, headers), (url, headers)
        answered += layer.answered - before
        statuses += got[0] != 200
    # Both kinds were seen: most valid queries answered in front; invalid ones (400s) by Litestar.
    if valid_only:
        assert answered > 60
    else:
        assert statuses > 20 and 0 < answered < 120


@pytest.mark.parametrize("encoding", ["br", "gzip", "identity"])
async def test_a_fast_answer_is_replayed_like_litestars(apps, encoding):
    fast, plain = apps
    layer = fast_path_of(fast.app)
    before = layer.answered
    first = await wire(fast, "/api/v1/prices?gpu=h100&per_page=2", {"accept-encoding": encoding})
    again = await wire(fast, "/api/v1/prices?gpu=h100&per_page=2", {"accept-encoding": encoding})
    assert layer.answered == before + 1  # the second one came from the cache-hit layer outside it
    assert first == again == await wire(plain, "/api/v1/prices?gpu=h100&per_page=2", {"accept-encoding": encoding})
    assert first[0] == 200 and "content-security-policy" in dict(first[1])


async def test_head_and_post_go_to_litestar(apps):
    fast, plain = apps
    layer = fast_path_of(fast.app)
    before = layer.answered
    for method in ("HEAD", "POST", "OPTIONS"):
        got, expected = await fast.request(method, "/api/v1/prices"), await plain.request(method, "/api/v1/prices")
        assert got.status_code == expected.status_code and got.content == expected.content
    assert layer.answered == before


def requests_total(text: str, status: str = "200") -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (sample.name.endswith("_requests_total") and sample.labels.get("path") == "/api/v1/prices"
                    and sample.labels.get("status_code") == status and sample.labels.get("app_name") == "computehub"):
                return sample.value
    return 0.0


async def test_a_fast_answer_is_counted_in_the_metrics(apps):
    fast, _ = apps
    layer = fast_path_of(fast.app)
    before_answered = layer.answered
    scrape = {"authorization": f"Bearer {METRICS_TOKEN}"}
    before = requests_total((await fast.get("/metrics", headers=scrape)).text)
    refused = requests_total((await fast.get("/metrics", headers=scrape)).text, "400")
    await fast.get("/api/v1/prices?gpu=a100&per_page=3")
    await fast.get("/api/v1/prices?gpu=zzz")  # a 400: Litestar answers and counts it
    assert layer.answered == before_answered + 1
    after = (await fast.get("/metrics", headers=scrape)).text
    assert requests_total(after) == before + 1 and requests_total(after, "400") == refused + 1
